output "name" {
  description = "Name of the stream."
  value       = aws_kinesis_stream.this.name
}

# Built from its parts, so it is known when planning (a reviewer sees which stream a consumer
# reads); depends_on still makes every consumer wait for the stream.
output "arn" {
  description = "ARN of the stream."
  value       = "arn:${data.aws_partition.current.partition}:kinesis:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stream/${var.name}"
  depends_on  = [aws_kinesis_stream.this]
}
