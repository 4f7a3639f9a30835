variable "function_names" {
  description = "The functions to create, keyed by the record format each one pseudonymizes (enriched, bad_rows): one function per format, all from the same package and sharing one salt."
  type        = map(string)

  validation {
    condition     = length(var.function_names) > 0 && alltrue([for format in keys(var.function_names) : contains(["enriched", "bad_rows"], format)])
    error_message = "function_names must be keyed by record formats the Lambda knows: enriched, bad_rows."
  }

  validation {
    condition     = alltrue([for name in values(var.function_names) : can(regex("^[A-Za-z0-9_-]{1,64}$", name))])
    error_message = "Each function name must be 1 to 64 letters, digits, '-' or '_' (it also names the function's IAM role)."
  }
}

variable "package_path" {
  description = "Path of the deployment package (the build's pseudonymization.zip), relative to the root module's working directory."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point at a .zip deployment package."
  }
}

variable "package_base64sha256" {
  description = "Base64-encoded SHA-256 of the package, as filebase64sha256() returns it (the build writes it next to the zip). A new value deploys new code."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.package_base64sha256))
    error_message = "package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters ending in '='), e.g. the content of pseudonymization.zip.base64sha256."
  }
}

variable "handler" {
  description = "The function entry point inside the package, MODULE.FUNCTION."
  type        = string
  default     = "handler.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like module.function, e.g. handler.lambda_handler."
  }
}

variable "runtime" {
  description = "Lambda runtime of the functions; the package must be built for it (its wheels, if any)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "runtime must be a Lambda Python runtime such as python3.12."
  }
}

variable "architecture" {
  description = "Instruction set of the functions, arm64 or x86_64; the package must be built for it (its wheels, if any)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size_mb" {
  description = "Memory of each function in MB; Lambda allocates CPU in proportion. See the README for the sizing of a full Firehose batch."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size_mb >= 128 && var.memory_size_mb <= 10240 && floor(var.memory_size_mb) == var.memory_size_mb
    error_message = "memory_size_mb must be a whole number from 128 to 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of each invocation in seconds. Firehose waits at most 5 minutes for a transformation, so 300 is the ceiling."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 300 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number from 1 to 300 (Firehose's invocation limit)."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' own metrics, which they write in Embedded Metric Format (docs/pseudonymization.md, \"Metrics and logs\"): set as every function's METRICS_NAMESPACE, and output so that alarms and dashboards read the same value."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z._/#-]([0-9A-Za-z._/#: -]{0,253}[0-9A-Za-z._/#:-])?$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a custom CloudWatch namespace: 1 to 255 letters, digits, spaces or . - _ / # : characters, not starting with ':', a space or 'AWS/' (reserved for AWS services), not ending with a space."
  }
}

variable "salt_secret_name" {
  description = "Name of the Secrets Manager secret that holds the HMAC salt. Terraform creates the secret, never its value."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.salt_secret_name))
    error_message = "salt_secret_name must be 1 to 512 letters, digits or /_+=.@- characters."
  }
}

variable "secrets_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the salt secret. The functions may decrypt with it only through Secrets Manager, and only for this secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the functions' log groups; its policy must let CloudWatch Logs use it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "log_retention_days" {
  description = "Days the functions' logs are kept. The logs carry counts and error categories, never event values or the salt."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "alarm_priority" {
  description = "Priority of the functions' Errors, Throttles and Duration alarms: P1 (page now), P2 (act today) or P3 (next working day). Every alarm name ends in it (e.g. snowplow-pseudonymize-enriched-errors_P2), as every alarm of the project does (docs/alarms.md); alarm_actions should reach that priority's people."
  type        = string
  default     = "P2"

  validation {
    condition     = contains(["P1", "P2", "P3"], var.alarm_priority)
    error_message = "alarm_priority must be P1, P2 or P3."
  }
}

variable "runbook_base_url" {
  description = "Web address of the runbook, docs/alarms.md, as a browser shows it (on GitLab: <project URL>/-/blob/<default branch>/docs/alarms.md). Each alarm's description ends with \"Runbook: <runbook_base_url>#<section>\", a link that works from an e-mail or a pager. null: the repository-relative docs/alarms.md#<section>."
  type        = string
  default     = null

  validation {
    condition     = var.runbook_base_url == null || can(regex("^https://[^\\s#?]{1,300}$", var.runbook_base_url))
    error_message = "runbook_base_url must be an https:// address without a query or #fragment (each alarm appends #<section>), at most 308 characters so that every alarm description stays within CloudWatch's 1024, or null."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires or recovers: the SNS topic of alarm_priority (the monitoring module's topic_arns[alarm_priority]). Empty: the alarms still show in CloudWatch but notify no one."
  type        = list(string)
  default     = []
}

variable "duration_alarm_ratio" {
  description = "The Duration alarm fires when an invocation's maximum duration exceeds this share of the timeout."
  type        = number
  default     = 0.8

  validation {
    condition     = var.duration_alarm_ratio > 0 && var.duration_alarm_ratio < 1
    error_message = "duration_alarm_ratio must be between 0 and 1 (exclusive)."
  }
}

variable "prevent_destroy" {
  description = "Refuse, at plan time, any plan that destroys or replaces the salt secret: losing the salt changes every pseudonym (docs/data-path.md, section Protection against destruction)."
  type        = bool
  default     = true
}

variable "salt_version_partition_key" {
  description = "Name of the Firehose dynamic-partitioning key under which every function returns each record's salt version (SALT_VERSION_PARTITION_KEY_NAME), e.g. salt_version; the delivery streams put it in their S3 prefix. null: no partition key is returned."
  type        = string
  default     = null

  validation {
    condition     = var.salt_version_partition_key == null ? true : can(regex("^[A-Za-z0-9_]{1,64}$", var.salt_version_partition_key))
    error_message = "salt_version_partition_key must be 1 to 64 letters, digits or underscores, or null."
  }
}

variable "salt_links" {
  description = "Where the enriched function writes salt link records (old and new pseudonym of each identifier, for records within window_seconds of a salt version's activation; docs/salt-rotation.md): the bucket's ARN, the key prefix (ending in /), the bucket's KMS key, and the window. The function may only put objects under the prefix. null: no links."
  type = object({
    bucket_arn     = string
    prefix         = string
    kms_key_arn    = string
    window_seconds = number
  })
  default = null

  validation {
    condition = var.salt_links == null ? true : (
      can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$", var.salt_links.bucket_arn)) &&
      can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*/$", var.salt_links.prefix)) &&
      can(regex("^arn:aws[a-z-]*:kms:", var.salt_links.kms_key_arn)) &&
      var.salt_links.window_seconds >= 0 && var.salt_links.window_seconds <= 2592000
    )
    error_message = "salt_links needs a bucket ARN (arn:aws:s3:::name), a prefix that ends in / and does not start with one, a KMS key ARN, and window_seconds from 0 to 2592000 (30 days)."
  }
}
