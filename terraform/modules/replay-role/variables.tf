variable "name" {
  description = "Name of the replay role that `snowplow-infra failed list|explain|replay` runs as."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be an IAM role name: 1 to 64 letters, digits or + = , . @ _ - characters."
  }
}

variable "trusted_role_arn" {
  description = "ARN of the break-glass role: the only principal that may assume the replay role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.trusted_role_arn))
    error_message = "trusted_role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "bucket_arn" {
  description = "ARN of the events bucket that holds the error objects and the replay manifests."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:aws:s3:::NAME)."
  }
}

variable "error_prefixes" {
  description = "The static error prefixes of the delivery streams (the firehose-to-s3 module's error_prefix outputs, e.g. processing-failed/output/): the role may list, read and tag the objects under them."
  type        = list(string)

  validation {
    condition     = length(var.error_prefixes) > 0 && alltrue([for p in var.error_prefixes : can(regex("^[A-Za-z0-9._-]+/([A-Za-z0-9._-]+/)*$", p))])
    error_message = "error_prefixes must name at least one folder such as processing-failed/output/: no leading '/', ending with '/', without wildcards or Firehose !{...} expressions."
  }
}

variable "manifest_prefix" {
  description = "The prefix of the replay manifests in the same bucket (processing-failed/replay-manifests/, the tooling's locations.MANIFEST_PREFIX): the role may read and write objects under it. It must lie in a read-restricted, expiring prefix."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+/([A-Za-z0-9._-]+/)*$", var.manifest_prefix))
    error_message = "manifest_prefix must be a folder such as processing-failed/replay-manifests/: no leading '/', ending with '/', without wildcards."
  }
}

variable "source_stream_arns" {
  description = "ARNs of the delivery streams' Kinesis source streams: the role may put records on them and read them back (to find the records of a PutRecords call interrupted before its answer was recorded)."
  type        = list(string)

  validation {
    condition     = length(var.source_stream_arns) > 0 && alltrue([for a in var.source_stream_arns : can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", a))])
    error_message = "source_stream_arns must be Kinesis stream ARNs (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME), at least one."
  }
}

variable "delivery_stream_arns" {
  description = "ARNs of the Firehose delivery streams: the role may describe them (where their errors are, which stream and function they use)."
  type        = list(string)

  validation {
    condition     = length(var.delivery_stream_arns) > 0 && alltrue([for a in var.delivery_stream_arns : can(regex("^arn:aws[a-z-]*:firehose:[a-z0-9-]+:[0-9]{12}:deliverystream/.+$", a))])
    error_message = "delivery_stream_arns must be Firehose delivery stream ARNs, at least one."
  }
}

variable "function_arns" {
  description = "ARNs of the pseudonymization functions: the role may read their configuration (explain checks that the package it judges with is the deployed code)."
  type        = list(string)

  validation {
    condition     = length(var.function_arns) > 0 && alltrue([for a in var.function_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", a))])
    error_message = "function_arns must be unqualified Lambda function ARNs, at least one."
  }
}

variable "storage_kms_key_arn" {
  description = "ARN of the KMS key of the events bucket: the role decrypts error objects and encrypts manifests with it, through S3 only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.storage_kms_key_arn))
    error_message = "storage_kms_key_arn must be a KMS key ARN."
  }
}

variable "streams_kms_key_arn" {
  description = "ARN of the KMS key of the Kinesis streams: the role encrypts the records it puts and decrypts those it reads back, through Kinesis only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.streams_kms_key_arn))
    error_message = "streams_kms_key_arn must be a KMS key ARN."
  }
}

variable "max_session_seconds" {
  description = "Longest session of the replay role, in seconds (3600 to 43200): long enough for a replay of a week of failures."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_seconds >= 3600 && var.max_session_seconds <= 43200 && floor(var.max_session_seconds) == var.max_session_seconds
    error_message = "max_session_seconds must be a whole number of seconds from 3600 to 43200."
  }
}
