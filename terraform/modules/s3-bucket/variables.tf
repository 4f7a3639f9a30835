variable "name" {
  description = "Globally unique bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$", var.name))
    error_message = "name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for SSE-KMS (with an S3 Bucket Key). Required, unless log_delivery makes this an access-log bucket, which must use SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...), not an alias or key id."
  }
}

variable "log_delivery" {
  description = <<-EOT
    null for every data bucket. Set it only for the bucket that receives access logs: S3 server
    access logging and Elastic Load Balancing access logs can only write to buckets encrypted with
    SSE-S3 (AES256), never SSE-KMS, so such a bucket is the one exception to SSE-KMS. Setting it
    switches default encryption to SSE-S3 (kms_key_arn must then be null) and lets the log
    delivery services write, each only under its own prefix:
    s3_server_access_logs: the S3 logging service, for each named source bucket of this account
    only under PREFIX/SOURCE_BUCKET/ (prefix must end with '/'), which is where the source bucket's
    access_logging must point;
    elb_access_logs: Elastic Load Balancing, under PREFIX/AWSLogs/ACCOUNT_ID/ (PREFIX as given to
    the load balancer's access_logs block, without a trailing '/').
  EOT
  type = object({
    s3_server_access_logs = optional(object({
      prefix              = string
      source_bucket_names = list(string)
    }))
    elb_access_logs = optional(object({
      prefix = string
    }))
  })
  default = null

  validation {
    condition = try(var.log_delivery.s3_server_access_logs == null, true) || try(
      endswith(var.log_delivery.s3_server_access_logs.prefix, "/") && length(var.log_delivery.s3_server_access_logs.source_bucket_names) > 0,
      false
    )
    error_message = "log_delivery.s3_server_access_logs needs a prefix ending with '/' and at least one source bucket name."
  }

  validation {
    condition = try(var.log_delivery.elb_access_logs == null, true) || try(
      can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.log_delivery.elb_access_logs.prefix)) && !strcontains(var.log_delivery.elb_access_logs.prefix, "AWSLogs"),
      false
    )
    error_message = "log_delivery.elb_access_logs.prefix must be a path without leading or trailing '/' and must not contain AWSLogs (Elastic Load Balancing adds AWSLogs/ACCOUNT_ID/ itself)."
  }
}

variable "access_logging" {
  description = "Where S3 server access logs of this bucket go: a target bucket (one that has log_delivery for this bucket) and a prefix ending with '/'. null disables access logging."
  type = object({
    target_bucket = string
    target_prefix = string
  })
  default = null

  validation {
    condition     = try(endswith(var.access_logging.target_prefix, "/"), var.access_logging == null)
    error_message = "access_logging.target_prefix must end with '/'."
  }
}

variable "lifecycle_rules" {
  description = <<-EOT
    Lifecycle rules, each scoped to a key prefix ("" for the whole bucket). Every rule aborts
    incomplete multipart uploads (after 7 days unless set) and may expire current versions,
    expire noncurrent versions and transition objects to other storage classes.
  EOT
  type = list(object({
    id                                     = string
    prefix                                 = optional(string, "")
    expiration_days                        = optional(number)
    noncurrent_version_expiration_days     = optional(number)
    abort_incomplete_multipart_upload_days = optional(number, 7)
    transitions = optional(list(object({
      days          = number
      storage_class = string
    })), [])
  }))
  default = [{
    id                                 = "expire-noncurrent-versions"
    noncurrent_version_expiration_days = 90
  }]

  validation {
    condition     = length(distinct([for r in var.lifecycle_rules : r.id])) == length(var.lifecycle_rules)
    error_message = "lifecycle_rules ids must be unique."
  }

  validation {
    condition = alltrue([
      for r in var.lifecycle_rules : alltrue([
        for days in [r.expiration_days, r.noncurrent_version_expiration_days, r.abort_incomplete_multipart_upload_days] :
        days >= 1 && floor(days) == days if days != null
      ])
    ])
    error_message = "Lifecycle day counts must be whole numbers of at least 1."
  }

  validation {
    condition = alltrue(flatten([
      for r in var.lifecycle_rules : [
        for t in r.transitions : contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], t.storage_class)
      ]
    ]))
    error_message = "transitions[].storage_class must be STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE."
  }
}

variable "read_restricted_prefixes" {
  description = "Key prefixes whose objects only the listed IAM principals (role ARNs) may read: the bucket policy denies every s3:GetObject* there to everyone else, whatever their IAM policies allow."
  type = list(object({
    prefix      = string
    reader_arns = list(string)
  }))
  default = []

  validation {
    condition     = alltrue([for r in var.read_restricted_prefixes : endswith(r.prefix, "/") && !startswith(r.prefix, "/") && length(r.reader_arns) > 0])
    error_message = "Each read_restricted_prefixes entry needs a prefix ending (and not starting) with '/' and at least one reader ARN."
  }
}

variable "prevent_destroy" {
  description = "Refuse, at plan time, any plan that destroys or replaces the bucket (docs/data-path.md, section Protection against destruction)."
  type        = bool
  default     = true
}
