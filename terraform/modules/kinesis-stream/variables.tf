variable "name" {
  description = "Name of the Kinesis data stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.name))
    error_message = "name must be 1 to 128 letters, digits, '_', '.' or '-'."
  }
}

variable "stream_mode" {
  description = "ON_DEMAND (Kinesis scales the shards) or PROVISIONED (a fixed shard_count)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Number of shards; required for PROVISIONED streams and must be null for ON_DEMAND ones."
  type        = number
  default     = null

  validation {
    condition     = var.shard_count == null || (try(var.shard_count >= 1 && floor(var.shard_count) == var.shard_count, false))
    error_message = "shard_count must be a whole number of at least 1, or null."
  }
}

variable "retention_hours" {
  description = "How long records stay readable, in hours: from 24 to 8760 (365 days)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760 && floor(var.retention_hours) == var.retention_hours
    error_message = "retention_hours must be a whole number of hours from 24 to 8760."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the stream at rest. Producers need kms:GenerateDataKey and consumers kms:Decrypt on it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...), not an alias or key id."
  }
}

variable "shard_level_metrics" {
  description = "Shard-level CloudWatch metrics to enable: they show a hot shard that stream-level averages hide."
  type        = list(string)
  default = [
    "IncomingBytes",
    "IncomingRecords",
    "IteratorAgeMilliseconds",
    "OutgoingBytes",
    "OutgoingRecords",
    "ReadProvisionedThroughputExceeded",
    "WriteProvisionedThroughputExceeded",
  ]

  validation {
    condition = alltrue([for m in var.shard_level_metrics : contains([
      "IncomingBytes", "IncomingRecords", "IteratorAgeMilliseconds", "OutgoingBytes",
      "OutgoingRecords", "ReadProvisionedThroughputExceeded", "WriteProvisionedThroughputExceeded",
    ], m)])
    error_message = "shard_level_metrics may only name Kinesis shard-level metrics (IncomingBytes, IncomingRecords, IteratorAgeMilliseconds, OutgoingBytes, OutgoingRecords, ReadProvisionedThroughputExceeded, WriteProvisionedThroughputExceeded)."
  }
}

variable "prevent_destroy" {
  description = "Refuse, at plan time, any plan that destroys or replaces the stream (docs/data-path.md, section Protection against destruction)."
  type        = bool
  default     = true
}
