# --- Names --------------------------------------------------------------------------------------

variable "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  type        = string
  default     = "SnowPlow"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.dashboard_name))
    error_message = "dashboard_name must be 1-255 letters, digits, hyphens or underscores (CloudWatch's rule)."
  }
}

variable "name_prefix" {
  description = "Prefix of every alarm and SNS topic this module creates. Alarm names are <name_prefix>-<what>_<P1|P2|P3>."
  type        = string
  default     = "snowplow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,40}$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and hyphens, starting with a letter, at most 41 characters."
  }
}

# --- What to watch: other modules' outputs, never retyped names -------------------------------

variable "collector" {
  description = "The collector: the load balancer's and target group's ARN suffixes (the CloudWatch dimension values) and the Auto Scaling group's name."
  type = object({
    load_balancer_arn_suffix = string
    target_group_arn_suffix  = string
    autoscaling_group_name   = string
  })

  validation {
    condition     = startswith(var.collector.load_balancer_arn_suffix, "app/") && startswith(var.collector.target_group_arn_suffix, "targetgroup/")
    error_message = "collector needs the ARN suffixes (app/NAME/ID and targetgroup/NAME/ID), not the full ARNs: those are CloudWatch's dimension values."
  }
}

variable "enricher" {
  description = "The enricher: its Auto Scaling group's name and its KCL lease table's name."
  type = object({
    autoscaling_group_name = string
    lease_table_name       = string
  })
}

variable "streams" {
  description = "Kinesis stream names keyed by their role in the pipeline: raw_good, raw_bad, enriched_good and enriched_bad. The alarms need to know which is which (enrichment reads raw_good; delivery reads enriched_good)."
  type        = map(string)

  validation {
    condition     = toset(keys(var.streams)) == toset(["raw_good", "raw_bad", "enriched_good", "enriched_bad"])
    error_message = "streams must have exactly the keys raw_good, raw_bad, enriched_good and enriched_bad."
  }
}

variable "delivery_streams" {
  description = "Kinesis Data Firehose delivery stream names, keyed by a short name (e.g. enriched_good). Each gets a dashboard row and freshness and delivery alarms."
  type        = map(string)

  validation {
    condition     = length(var.delivery_streams) > 0 && alltrue([for k in keys(var.delivery_streams) : can(regex("^[a-z][a-z0-9_]*$", k))])
    error_message = "delivery_streams must name at least one delivery stream, keyed by lowercase snake_case names."
  }
}

variable "functions" {
  description = "Pseudonymization Lambda function names, keyed by record format (enriched, bad_rows). Each gets a dashboard row and processing-failed and response-size alarms (on its own EMF metrics); its Errors, Throttles and Duration alarms belong to the pseudonymization-lambda module (pass their names in additional_alarm_names)."
  type        = map(string)

  validation {
    condition     = length(var.functions) > 0 && alltrue([for k in keys(var.functions) : can(regex("^[a-z][a-z0-9_]*$", k))])
    error_message = "functions must name at least one function, keyed by lowercase snake_case names."
  }
}

variable "pseudonymization_metrics" {
  description = "Where the pseudonymization Lambda's own metrics live: it writes them in CloudWatch Embedded Metric Format (docs/pseudonymization.md, \"Metrics and logs\"). namespace (required, no default here) is the functions' METRICS_NAMESPACE: pass the pseudonymization-lambda module's metrics_namespace output. Dimension and metric names default to the ones the code writes."
  type = object({
    namespace            = string
    dimension            = optional(string, "FunctionName")
    records_in           = optional(string, "RecordsIn")
    records_failed       = optional(string, "RecordsProcessingFailed")
    values_pseudonymized = optional(string, "ValuesPseudonymized")
    response_bytes       = optional(string, "ResponseBytes")
    # RecordsProcessingFailed by reason code (the Lambda's reasons.py), graphed side by side.
    failed_malformed_base64   = optional(string, "ProcessingFailedMalformedBase64")
    failed_malformed_utf8     = optional(string, "ProcessingFailedMalformedUtf8")
    failed_wrong_field_count  = optional(string, "ProcessingFailedWrongFieldCount")
    failed_unparsable_bad_row = optional(string, "ProcessingFailedUnparsableBadRow")
  })

  validation {
    condition     = can(regex("^[0-9A-Za-z._/#-]([0-9A-Za-z._/#: -]{0,253}[0-9A-Za-z._/#:-])?$", var.pseudonymization_metrics.namespace)) && !startswith(var.pseudonymization_metrics.namespace, "AWS/")
    error_message = "pseudonymization_metrics.namespace must be a custom CloudWatch namespace: 1 to 255 letters, digits, spaces or . - _ / # : characters, not starting with ':', a space or 'AWS/' (reserved for AWS services), not ending with a space."
  }
}

variable "additional_alarm_names" {
  description = "Names of alarms other modules create (e.g. the pseudonymization-lambda module's alarm_names: its functions' Errors, Throttles and Duration alarms), listed in the dashboard's alarm list beside this module's own. Like every alarm of the project, each name must end in its priority, _P1, _P2 or _P3."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.additional_alarm_names : can(regex("^[^:]{1,252}_P[123]$", name))])
    error_message = "Each of additional_alarm_names must be a CloudWatch alarm name (no colon, at most 255 characters) ending in its priority, _P1, _P2 or _P3."
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

# --- Who is told ---------------------------------------------------------------------------------

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the alarm topics. Its key policy must let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt: CloudWatch alarms publish as that service, which is why the AWS-managed aws/sns key cannot be used (README, \"The topics' key\")."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias: the AWS-managed alias/aws/sns key would silently stop every alarm notification."
  }
}

variable "subscriptions" {
  description = "Who receives each priority's alarms: for P1, P2 and P3, lists of e-mail addresses and of HTTPS endpoints (e.g. a PagerDuty CloudWatch integration URL, which embeds its key: the whole variable is sensitive). E-mail subscriptions stay pending until the recipient confirms them."
  type = map(object({
    email = optional(list(string), [])
    https = optional(list(string), [])
  }))
  default   = {}
  sensitive = true

  validation {
    condition     = alltrue([for p in keys(var.subscriptions) : contains(["P1", "P2", "P3"], p)])
    error_message = "subscriptions may only have the keys P1, P2 and P3."
  }

  validation {
    condition = alltrue(flatten([
      for s in values(var.subscriptions) : concat(
        [for e in s.email : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))],
        [for u in s.https : startswith(u, "https://")],
      )
    ]))
    error_message = "subscriptions: every email entry must be an e-mail address and every https entry an https:// URL."
  }
}

# --- Thresholds: see the runbook (docs/alarms.md) for why each default is what it is -------------
# Not nullable: a caller that passes null (an environment's unset alarm_thresholds attribute) gets
# the default.

variable "collector_5xx_rate_percent" {
  description = "P2 when more than this percentage of the collector's requests get a 5XX (load balancer's or targets') in 3 of 5 minutes."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.collector_5xx_rate_percent > 0 && var.collector_5xx_rate_percent < 100
    error_message = "collector_5xx_rate_percent must be between 0 and 100, exclusive."
  }
}

variable "enrichment_lag_seconds" {
  description = "P2 when the oldest unread record in the raw-good stream has waited longer than this for 5 minutes: the enricher is falling behind."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.enrichment_lag_seconds >= 60
    error_message = "enrichment_lag_seconds must be at least 60."
  }
}

variable "enrichment_stalled_seconds" {
  description = "P1 when the oldest unread record in the raw-good stream has waited longer than this for 5 minutes, or nobody reads it: enrichment has stalled. Must leave time to act before the stream's retention (48 h) drops records."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.enrichment_stalled_seconds >= 300 && var.enrichment_stalled_seconds <= 86400
    error_message = "enrichment_stalled_seconds must be between 300 and 86400 (a day: well inside the raw streams' retention)."
  }
}

variable "delivery_lag_seconds" {
  description = "P2 when the oldest unread record in the enriched-good stream has waited longer than this for 5 minutes, or nobody reads it: Firehose delivery has stalled. Enriched streams keep records 24 h."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.delivery_lag_seconds >= 60 && var.delivery_lag_seconds <= 43200
    error_message = "delivery_lag_seconds must be between 60 and 43200 (half the enriched streams' retention)."
  }
}

variable "delivery_freshness_seconds" {
  description = "P2 when a delivery stream's oldest undelivered record is older than this for 15 minutes. Firehose buffers up to 900 s before writing, so keep it well above the buffering interval."
  type        = number
  default     = 1800
  nullable    = false

  validation {
    condition     = var.delivery_freshness_seconds > 900
    error_message = "delivery_freshness_seconds must exceed 900, Firehose's longest buffering interval, or the alarm fires on normal buffering."
  }
}

variable "lambda_response_bytes_threshold" {
  description = "P3 when a pseudonymization function's largest response in 15 minutes exceeds this many bytes. Lambda caps the response at 6 291 456 bytes; past it the whole batch fails (lower the Firehose processor buffer, see docs/pseudonymization.md)."
  type        = number
  default     = 5500000
  nullable    = false

  validation {
    condition     = var.lambda_response_bytes_threshold > 0 && var.lambda_response_bytes_threshold < 6291456
    error_message = "lambda_response_bytes_threshold must be below Lambda's 6 291 456-byte response cap."
  }
}

variable "low_good_events_threshold" {
  description = "P2 when fewer good (enriched) events than this arrive in each of two consecutive 15-minute periods, or none are reported at all: traffic has unexpectedly dropped. Set it to a fraction (say a fifth) of the quietest quarter-hour of a normal week."
  type        = number
  default     = 1000
  nullable    = false

  validation {
    condition     = var.low_good_events_threshold >= 1
    error_message = "low_good_events_threshold must be at least 1."
  }
}

variable "bad_to_good_ratio_percent" {
  description = "P3 when bad rows (raw-bad plus enriched-bad records) exceed this percentage of good events for an hour: a tracker or schema change is producing invalid events."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.bad_to_good_ratio_percent > 0
    error_message = "bad_to_good_ratio_percent must be positive."
  }
}
