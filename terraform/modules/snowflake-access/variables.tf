variable "role_name" {
  description = "Name of the IAM role that the Snowflake storage integration assumes. Its ARN is known before the role exists (see the role_arn output), which is what breaks the chicken-and-egg with the integration."
  type        = string
  default     = "snowplow-snowflake-storage-integration"

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_- (an IAM role name)."
  }
}

variable "bucket_name" {
  description = "Name of the S3 bucket that holds the pseudonymized events (the Firehose destination)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "bucket_arn" {
  description = "ARN of that bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN, e.g. arn:aws:s3:::my-bucket."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the bucket (SSE-KMS). The role gets kms:Decrypt on it, through S3 only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "readable_prefixes" {
  description = "The key prefixes Snowflake may read, keyed by a short name used for outputs and notification ids (e.g. enriched_good = \"output/\"). Each is a folder: non-empty, ending in \"/\", without wildcards, and none inside another."
  type        = map(string)

  validation {
    condition     = length(var.readable_prefixes) > 0
    error_message = "readable_prefixes must name at least one prefix."
  }

  validation {
    condition     = alltrue([for p in values(var.readable_prefixes) : can(regex("^[A-Za-z0-9][A-Za-z0-9._/-]*/$", p))])
    error_message = "Each of readable_prefixes must be a folder such as \"output/\": non-empty, not starting with \"/\", ending in \"/\", without wildcards or Firehose !{...} expressions."
  }

  validation {
    condition = alltrue(flatten([
      for a, pa in var.readable_prefixes : [
        for b, pb in var.readable_prefixes : a == b || !startswith(pb, pa)
      ]
    ]))
    error_message = "No prefix in readable_prefixes may lie inside another: S3 rejects overlapping notification filters, and the grant would be ambiguous."
  }
}

variable "blocked_prefixes" {
  description = "Key prefixes in the same bucket that Snowflake must never read: the Firehose error (processing-failed) prefixes, which hold raw, unpseudonymized records. Firehose expressions such as !{firehose:error-output-type} may be passed as they are; only the static part before the first !{ is used. The role gets an explicit Deny on them, and they are output as STORAGE_BLOCKED_LOCATIONS."
  type        = list(string)

  validation {
    condition     = length(var.blocked_prefixes) > 0
    error_message = "blocked_prefixes must name the processing-failed location(s): the module refuses to guess where raw records live."
  }

  validation {
    condition     = alltrue([for p in var.blocked_prefixes : can(regex("^[A-Za-z0-9][^*?]*/", split("!{", p)[0]))])
    error_message = "Each of blocked_prefixes must start with a static folder such as \"processing-failed/\" (no wildcards, not an empty or bucket-wide prefix)."
  }
}

variable "storage_integration" {
  description = "The Snowflake storage integration's identity, from `DESC INTEGRATION <name>`: STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID. null until the integration exists: the role is then not created yet (see docs/snowflake.md for the order of operations)."
  type = object({
    iam_user_arn = string
    external_id  = string
  })
  default = null

  validation {
    condition     = var.storage_integration == null || can(regex("^arn:aws[a-z-]*:iam::\\d{12}:(user|role)/.+$", var.storage_integration.iam_user_arn))
    error_message = "storage_integration.iam_user_arn must be the STORAGE_AWS_IAM_USER_ARN that DESC INTEGRATION shows (arn:aws:iam::ACCOUNT:user/...)."
  }

  validation {
    condition     = var.storage_integration == null || try(can(regex("^[\\w+=,.@:/-]+$", var.storage_integration.external_id)) && length(var.storage_integration.external_id) >= 2 && length(var.storage_integration.external_id) <= 1224, false)
    error_message = "storage_integration.external_id must be the STORAGE_AWS_EXTERNAL_ID that DESC INTEGRATION shows (2-1224 characters of letters, digits and +=,.@:/-_)."
  }
}

variable "snowpipe_sqs_queue_arn" {
  description = "ARN of the SQS queue Snowpipe listens on (the notification_channel column of SHOW PIPES; one queue per Snowflake account and region). null until the pipes exist: no bucket notification is created then."
  type        = string
  default     = null

  validation {
    condition     = var.snowpipe_sqs_queue_arn == null || can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\\d{12}:.+$", var.snowpipe_sqs_queue_arn))
    error_message = "snowpipe_sqs_queue_arn must be an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME), as shown in SHOW PIPES' notification_channel."
  }
}

variable "max_session_duration" {
  description = "Maximum session length, in seconds, of the role Snowflake assumes."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}
