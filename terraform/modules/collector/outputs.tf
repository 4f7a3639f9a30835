output "dns_name" {
  description = "DNS name of the load balancer; point the collector's public hostname at it (alias record with zone_id)."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 hosted zone id of the load balancer, for an alias record."
  value       = aws_lb.this.zone_id
}

output "load_balancer_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer (app/NAME/ID): the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (targetgroup/NAME/ID): the TargetGroup dimension of its CloudWatch metrics."
  value       = aws_lb_target_group.this.arn_suffix
}

output "autoscaling_group_name" {
  description = "Name of the collector Auto Scaling group (the AutoScalingGroupName dimension of EC2 and agent metrics)."
  value       = module.fleet.autoscaling_group.name
}

output "security_group_ids" {
  description = "Security group ids: load_balancer (admits the allowlist) and instances (admit the load balancer)."
  value = {
    load_balancer = aws_security_group.load_balancer.id
    instances     = module.fleet.security_group_id
  }
}

output "role_name" {
  description = "Name of the instances' IAM role."
  value       = module.fleet.role_name
}

output "log_group_name" {
  description = "CloudWatch log group that receives the collector container's logs, one stream per instance id."
  value       = module.fleet.log_group_name
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the instances' mem_used_percent and disk used_percent metrics."
  value       = module.fleet.metrics_namespace
}

output "config_sha256" {
  description = "SHA-256 of the collector configuration the current launch template version carries (also the config_sha256 tag of its instances)."
  value       = module.fleet.config_sha256
}
