output "arn" {
  description = "ARN of the key: what policies, encryption settings and log groups reference."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "The key's alias, alias/NAME."
  value       = aws_kms_alias.this.name
}
