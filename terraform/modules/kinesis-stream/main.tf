data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

resource "aws_kinesis_stream" "this" {
  name                = var.name
  retention_period    = var.retention_hours
  shard_count         = var.shard_count
  shard_level_metrics = var.shard_level_metrics

  encryption_type = "KMS"
  kms_key_id      = var.kms_key_arn

  # Deleting a stream that still has registered (enhanced fan-out) consumers fails instead of
  # silently removing them.
  enforce_consumer_deletion = false

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  lifecycle {
    precondition {
      condition     = (var.stream_mode == "PROVISIONED") == (var.shard_count != null)
      error_message = "A PROVISIONED stream needs shard_count; an ON_DEMAND stream must leave shard_count null (stream ${var.name})."
    }
  }
}

# lifecycle.prevent_destroy cannot take a variable, so the guard is a separate resource that is
# replaced whenever the stream is. See docs/data-path.md, "Protection against destruction".
resource "terraform_data" "prevent_destroy" {
  count = var.prevent_destroy ? 1 : 0

  triggers_replace = [aws_kinesis_stream.this.arn]

  lifecycle {
    prevent_destroy = true
  }
}
