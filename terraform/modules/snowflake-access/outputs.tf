output "role_arn" {
  description = "ARN of the role for STORAGE_AWS_ROLE_ARN in CREATE STORAGE INTEGRATION. Known (computed from the account and role_name) before the role itself exists."
  value       = local.role_arn
}

output "role_created" {
  description = "Whether the role exists yet, i.e. whether storage_integration was given."
  value       = length(aws_iam_role.this) == 1
}

output "storage_allowed_locations" {
  description = "s3:// URLs for STORAGE_ALLOWED_LOCATIONS, keyed like readable_prefixes; each is also the URL of one Snowflake stage."
  value       = { for name, prefix in var.readable_prefixes : name => "s3://${var.bucket_name}/${prefix}" }

  precondition {
    condition     = length(local.overlapping) == 0
    error_message = "A readable prefix overlaps a processing-failed prefix, so Snowflake could read raw, unpseudonymized records: ${join("; ", local.overlapping)}."
  }
}

output "storage_blocked_locations" {
  description = "s3:// URLs for STORAGE_BLOCKED_LOCATIONS: the processing-failed prefixes Snowflake must never read."
  value       = [for p in local.blocked_prefixes : "s3://${var.bucket_name}/${p}"]
}

output "notification_prefixes" {
  description = "The prefixes whose new objects are announced to the Snowpipe queue (empty until snowpipe_sqs_queue_arn is set)."
  value       = length(aws_s3_bucket_notification.this) == 1 ? values(var.readable_prefixes) : []
}
