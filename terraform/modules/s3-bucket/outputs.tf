# name and arn are known when planning (a reviewer sees which bucket a writer uses), but resolve
# only once the bucket is fully configured (private, encrypted, with its policy), so that nothing
# wired to them (a delivery stream, a log source) writes into a bucket that is not ready yet.

output "name" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.bucket
  depends_on = [
    aws_s3_bucket_policy.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
  ]
}

output "arn" {
  description = "ARN of the bucket."
  value       = local.bucket_arn
  depends_on = [
    aws_s3_bucket.this,
    aws_s3_bucket_policy.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
  ]
}

output "elb_access_logs_prefix" {
  description = "The prefix to give a load balancer's access_logs block so that its logs land where this bucket's policy lets Elastic Load Balancing write (null unless log_delivery.elb_access_logs is set)."
  value       = try(var.log_delivery.elb_access_logs.prefix, null)
}
