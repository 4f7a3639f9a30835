output "name" {
  description = "Name of the delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "arn" {
  description = "ARN of the delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "prefix" {
  description = "The fixed part of the delivered objects' keys (e.g. output/): what a reader such as Snowpipe points at. Keys continue with <salt_version_partition_key>=<version>/ when it is set, yyyy/MM/dd/HH/ (UTC) and the object name."
  value       = var.prefix
}

output "error_prefix" {
  description = "The fixed part of the keys of records that failed processing (raw data). Keys continue with the error output type (processing-failed), yyyy/MM/dd/HH/ and the object name."
  value       = var.error_prefix
}

output "processor_buffer_size_mb" {
  description = "The processor buffer size in effect, in MB (the batch size the Lambda receives)."
  value       = var.processor_buffer_size_mb
}

output "processor_buffer_interval_seconds" {
  description = "The processor buffer interval in effect, in seconds."
  value       = var.processor_buffer_interval_seconds
}

output "role_arn" {
  description = "ARN of the delivery role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the log group that receives delivery and processing errors."
  value       = aws_cloudwatch_log_group.this.name
}

output "salt_version_partition_key" {
  description = "The dynamic-partitioning key carrying the salt version in the objects' keys, or null when the stream does not partition."
  value       = var.salt_version_partition_key
}
