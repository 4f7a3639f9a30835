output "arn" {
  description = "ARN of the replay role: give it to the events bucket's read-restricted prefix (reader_arns) and assume it from the break-glass role."
  value       = aws_iam_role.this.arn
}

output "name" {
  description = "Name of the replay role."
  value       = aws_iam_role.this.name
}
