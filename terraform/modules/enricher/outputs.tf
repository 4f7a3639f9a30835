output "autoscaling_group_name" {
  description = "Name of the enricher Auto Scaling group (the AutoScalingGroupName dimension of EC2 and agent metrics)."
  value       = module.fleet.autoscaling_group.name
}

output "lease_table_name" {
  description = "Name of the DynamoDB table holding KCL's leases and checkpoints (also KCL's CloudWatch namespace)."
  value       = aws_dynamodb_table.leases.name
}

output "lease_table_arn" {
  description = "ARN of the lease table."
  value       = aws_dynamodb_table.leases.arn
}

output "security_group_id" {
  description = "Id of the instances' security group (no inbound rules)."
  value       = module.fleet.security_group_id
}

output "role_name" {
  description = "Name of the instances' IAM role."
  value       = module.fleet.role_name
}

output "log_group_name" {
  description = "CloudWatch log group that receives the Enrich container's logs, one stream per instance id."
  value       = module.fleet.log_group_name
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the instances' mem_used_percent and disk used_percent metrics (KCL's metrics are under the lease table's name)."
  value       = module.fleet.metrics_namespace
}

output "config_sha256" {
  description = "SHA-256 of the configuration files the current launch template version carries (also the config_sha256 tag of its instances)."
  value       = module.fleet.config_sha256
}
