output "autoscaling_group" {
  description = "The Auto Scaling group as created: name (the AutoScalingGroupName dimension of EC2 and agent metrics), arn, subnet_ids, health_check_type, target_group_arns, min_size and max_size."
  value = {
    name              = aws_autoscaling_group.this.name
    arn               = aws_autoscaling_group.this.arn
    subnet_ids        = aws_autoscaling_group.this.vpc_zone_identifier
    health_check_type = aws_autoscaling_group.this.health_check_type
    target_group_arns = aws_autoscaling_group.this.target_group_arns
    min_size          = aws_autoscaling_group.this.min_size
    max_size          = aws_autoscaling_group.this.max_size
  }
}

output "security_group_id" {
  description = "Id of the instances' security group: HTTPS out, nothing in until the app module adds an ingress rule to it."
  value       = aws_security_group.this.id
}

output "role_name" {
  description = "Name of the instances' IAM role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "CloudWatch log group of the instances' container logs ($log_group in the boot script), one stream per instance id by convention."
  value       = aws_cloudwatch_log_group.this.name
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the instances' mem_used_percent and disk used_percent metrics."
  value       = var.settings.metrics_namespace
}

output "config_sha256" {
  description = "SHA-256 of the configuration the current launch template version carries: the config_sha256 tag it gives its instances."
  value       = aws_launch_template.this.tag_specifications[0].tags.config_sha256
}

output "user_data" {
  description = "The boot script the launch template carries, uncompressed: the fleet's common steps, then boot_script. What cloud-init runs on every instance."
  value       = local.user_data
}

output "egress_rules" {
  description = "The instances' outbound rules, keyed https (443 anywhere) and by the keys of additional_egress: { port, cidr_ipv4 } each."
  value = merge(
    { https = { port = aws_vpc_security_group_egress_rule.https.from_port, cidr_ipv4 = aws_vpc_security_group_egress_rule.https.cidr_ipv4 } },
    { for k, rule in aws_vpc_security_group_egress_rule.additional : k => { port = rule.from_port, cidr_ipv4 = rule.cidr_ipv4 } },
  )
}
