output "function_names" {
  description = "Function names keyed by record format (enriched, bad_rows)."
  value       = { for format, f in aws_lambda_function.this : format => f.function_name }
}

# Built from their parts, so they are known when planning (a reviewer sees which function each
# delivery stream invokes); depends_on still makes every caller wait for the functions.
output "function_arns" {
  description = "Unqualified function ARNs keyed by record format: what a Firehose processor invokes."
  value       = { for format, name in var.function_names : format => "${local.function_arn_prefix}:${name}" }
  depends_on  = [aws_lambda_function.this]
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the functions' EMF metrics (their METRICS_NAMESPACE), for alarms and dashboards."
  value       = var.metrics_namespace
}

output "salt_secret_arn" {
  description = "ARN of the salt secret (its value is set out of band)."
  value       = aws_secretsmanager_secret.salt.arn
}

output "role_arns" {
  description = "Execution role ARNs keyed by record format."
  value       = { for format, r in aws_iam_role.this : format => r.arn }
}

output "log_group_names" {
  description = "Log group names keyed by record format."
  value       = { for format, g in aws_cloudwatch_log_group.this : format => g.name }
}

output "alarm_names" {
  description = "Alarm names keyed FORMAT/errors, FORMAT/throttles, FORMAT/duration, each ending in _<alarm_priority>; known when planning (e.g. for a dashboard's alarm list)."
  value       = { for key, a in aws_cloudwatch_metric_alarm.this : key => a.alarm_name }
}

output "alarm_arns" {
  description = "Alarm ARNs keyed like alarm_names."
  value       = { for key, a in aws_cloudwatch_metric_alarm.this : key => a.arn }
}
