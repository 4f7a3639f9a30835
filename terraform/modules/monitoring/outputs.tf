output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}

output "alarm_names" {
  description = "Every alarm's name, keyed by what it watches (e.g. collector-no-healthy-hosts); each name ends in its priority, _P1, _P2 or _P3."
  value       = local.alarm_names
}

output "alarm_arns" {
  description = "Every alarm's ARN, keyed like alarm_names."
  value       = { for k, alarm in aws_cloudwatch_metric_alarm.this : k => alarm.arn }
}

output "topic_arns" {
  description = "The alarm topics' ARNs keyed by priority (P1, P2, P3): pass one to other modules' alarm_actions so that their alarms reach the same people."
  value       = { for p, topic in aws_sns_topic.this : p => topic.arn }
}
