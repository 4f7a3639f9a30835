variable "name" {
  description = "Name of the delivery stream; it also names its IAM role and its log group."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.name))
    error_message = "name must be 1 to 64 letters, digits, '_', '.' or '-'."
  }
}

variable "source_stream_arn" {
  description = "ARN of the Kinesis data stream the delivery stream reads."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\\d{12}:stream/.+$", var.source_stream_arn))
    error_message = "source_stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}

variable "source_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the source stream: the delivery role may decrypt with it through Kinesis only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.source_kms_key_arn))
    error_message = "source_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "processor_function_arn" {
  description = "Unqualified ARN of the Lambda function that transforms every record before delivery (the only function the role may invoke)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]+$", var.processor_function_arn))
    error_message = "processor_function_arn must be an unqualified Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)."
  }
}

variable "processor_buffer_size_mb" {
  description = "MB of source data Firehose buffers before invoking the processor (0.2 to 3). Choose it so that the processor's response stays under Lambda's 6 MB limit after the transformation grows the records (docs/pseudonymization.md)."
  type        = number

  validation {
    condition     = var.processor_buffer_size_mb >= 0.2 && var.processor_buffer_size_mb <= 3
    error_message = "processor_buffer_size_mb must be from 0.2 to 3 (Firehose's range for a Lambda processor)."
  }
}

variable "processor_buffer_interval_seconds" {
  description = "Seconds Firehose buffers source data at most before invoking the processor (0 to 900)."
  type        = number

  validation {
    condition     = var.processor_buffer_interval_seconds >= 0 && var.processor_buffer_interval_seconds <= 900 && floor(var.processor_buffer_interval_seconds) == var.processor_buffer_interval_seconds
    error_message = "processor_buffer_interval_seconds must be a whole number from 0 to 900."
  }
}

variable "processor_retries" {
  description = "How often Firehose retries a failed processor invocation before writing the batch under error_prefix (0 to 300). null keeps Firehose's default, 3."
  type        = number
  default     = null

  validation {
    condition     = var.processor_retries == null || try(var.processor_retries >= 0 && var.processor_retries <= 300 && floor(var.processor_retries) == var.processor_retries, false)
    error_message = "processor_retries must be a whole number from 0 to 300, or null."
  }
}

variable "bucket_arn" {
  description = "ARN of the destination bucket. Firehose writes both the delivered objects and the records it could not process into this one bucket (it has no separate error bucket)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:aws:s3:::NAME)."
  }
}

variable "prefix" {
  description = "Key prefix of the delivered objects, e.g. output/. The module appends !{timestamp:yyyy/MM/dd/HH}/ (UTC)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._/-]*/$", var.prefix))
    error_message = "prefix must be a folder such as output/: not starting with '/', ending with '/', without Firehose !{...} expressions (the module adds them)."
  }
}

variable "error_prefix" {
  description = "Key prefix of the records the processor could not transform (raw, unpseudonymized data), e.g. processing-failed/output/. The module appends !{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/. It must not overlap prefix: the caller locks it down (bucket policy, short lifecycle)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._/-]*/$", var.error_prefix))
    error_message = "error_prefix must be a folder such as processing-failed/output/: not starting with '/', ending with '/', without Firehose !{...} expressions (the module adds them)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the delivered objects (SSE-KMS): normally the bucket's default key."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "buffering_size_mb" {
  description = "MB of transformed data Firehose buffers before writing an S3 object (1 to 128). Larger objects load into Snowflake more efficiently."
  type        = number
  default     = 128

  validation {
    condition     = var.buffering_size_mb >= 1 && var.buffering_size_mb <= 128 && floor(var.buffering_size_mb) == var.buffering_size_mb
    error_message = "buffering_size_mb must be a whole number from 1 to 128."
  }
}

variable "buffering_interval_seconds" {
  description = "Seconds Firehose buffers transformed data at most before writing an S3 object (0 to 900): the upper bound of the delivery delay."
  type        = number
  default     = 300

  validation {
    condition     = var.buffering_interval_seconds >= 0 && var.buffering_interval_seconds <= 900 && floor(var.buffering_interval_seconds) == var.buffering_interval_seconds
    error_message = "buffering_interval_seconds must be a whole number from 0 to 900."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the delivery stream's error log group; its policy must let CloudWatch Logs use it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "log_retention_days" {
  description = "Days the delivery errors are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "salt_version_partition_key" {
  description = "Name of the dynamic-partitioning key under which the processor returns each record's salt version (the Lambda's SALT_VERSION_PARTITION_KEY_NAME), e.g. salt_version: objects then go under PREFIX<key>=<version>/yyyy/MM/dd/HH/. null: no dynamic partitioning. Firehose enables dynamic partitioning only when a stream is created, so setting or unsetting it on an existing stream replaces the stream (docs/salt-rotation.md)."
  type        = string
  default     = null

  validation {
    condition     = var.salt_version_partition_key == null ? true : can(regex("^[A-Za-z0-9_]{1,64}$", var.salt_version_partition_key))
    error_message = "salt_version_partition_key must be 1 to 64 letters, digits or underscores, or null."
  }
}

variable "partitioning_retry_seconds" {
  description = "Seconds Firehose retries delivering a partition to S3 before writing it under the error prefix (dynamic partitioning only)."
  type        = number
  default     = 300

  validation {
    condition     = var.partitioning_retry_seconds >= 0 && var.partitioning_retry_seconds <= 7200 && floor(var.partitioning_retry_seconds) == var.partitioning_retry_seconds
    error_message = "partitioning_retry_seconds must be a whole number from 0 to 7200."
  }
}

variable "iam_propagation_seconds" {
  description = "Seconds the delivery stream waits after its role or role policy is created or changed, for IAM to propagate them before Firehose checks them (0: no wait, for an emulator). AWS documents that IAM changes take time to become visible everywhere; 30 s clears the failures seen on CreateDeliveryStream."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.iam_propagation_seconds >= 0 && var.iam_propagation_seconds <= 300 && floor(var.iam_propagation_seconds) == var.iam_propagation_seconds
    error_message = "iam_propagation_seconds must be a whole number from 0 to 300."
  }
}
