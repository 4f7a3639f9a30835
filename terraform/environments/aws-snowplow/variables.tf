# --- data path (KMS keys, streams, buckets, pseudonymization, delivery) ---

variable "artifacts_dir" {
  description = "Folder with the build output Terraform reads (lambda/pseudonymization.zip and its .base64sha256, config/aws-snowplow/...). null: the repository's build/ folder, where `make lambda configs` writes."
  type        = string
  default     = null
}

variable "prevent_destroy" {
  description = "Guard the stateful resources (KMS keys, streams, buckets, the salt secret) so that Terraform refuses any plan that destroys or replaces them. Only a throwaway environment (the local demo) turns it off; docs/data-path.md explains how to lift it on a live one."
  type        = bool
  default     = true
}

variable "stream_capacity" {
  description = "Capacity of the Kinesis streams, keyed like pipeline.yaml's streams (raw_good, raw_bad, enriched_good, enriched_bad): { mode = \"PROVISIONED\", shard_count = N } or { mode = \"ON_DEMAND\" }. Streams not listed are ON_DEMAND."
  type = map(object({
    mode        = string
    shard_count = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for role in keys(var.stream_capacity) : contains(["raw_good", "raw_bad", "enriched_good", "enriched_bad"], role)])
    error_message = "stream_capacity keys must be stream roles of pipeline.yaml: raw_good, raw_bad, enriched_good, enriched_bad."
  }
}

variable "processor_buffer" {
  description = "The Firehose processor buffer of every delivery stream: size in MB and interval in seconds. 0.5 MB keeps the Lambda's response under 6 MB for up to 8.6x growth; 30 s halves the wait on quiet streams (docs/pseudonymization.md, 'Size arithmetic')."
  type = object({
    size_mb          = number
    interval_seconds = number
  })
  default = { size_mb = 0.5, interval_seconds = 30 }
}

variable "break_glass_role_name" {
  description = "Name (with its path, if any) of the IAM role that alone may read the raw records under processing-failed/ in the events bucket. The role is managed outside this repository; it needs its own s3:GetObject and kms:Decrypt (storage key) permissions."
  type        = string

  validation {
    condition     = can(regex("^([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", var.break_glass_role_name))
    error_message = "break_glass_role_name must be an IAM role name, optionally with its path (e.g. aws-reserved/sso.amazonaws.com/AWSReservedSSO_BreakGlass_0123456789abcdef), without the ARN prefix."
  }
}

variable "replay_role_name" {
  description = "Name of the IAM role `snowplow-infra failed list|explain|replay` runs as (replay.tf): assumed from the break-glass role, it alone besides that role may read processing-failed/, and only to put the records back on their source streams (docs/alarms.md, \"ProcessingFailed records\")."
  type        = string
  default     = "snowplow-failed-records-replay"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.replay_role_name))
    error_message = "replay_role_name must be an IAM role name (1 to 64 letters, digits or + = , . @ _ -), without a path."
  }
}

variable "iam_propagation_seconds" {
  description = "Seconds each delivery stream waits after its role or role policy is created or changed, for IAM to propagate them before Firehose checks them (the firehose-to-s3 module's variable, which validates it). 0 only where IAM has nothing to propagate: the local demo's variable file sets it."
  type        = number
  default     = 30
}

variable "processing_failed_retention_days" {
  description = "Days the raw records under processing-failed/ are kept before S3 deletes them: the shortest retention in the pipeline, long enough to investigate and re-drive a failure."
  type        = number
  default     = 7

  validation {
    condition     = var.processing_failed_retention_days >= 1 && var.processing_failed_retention_days <= 30 && floor(var.processing_failed_retention_days) == var.processing_failed_retention_days
    error_message = "processing_failed_retention_days must be a whole number from 1 to 30."
  }
}

variable "salt_links_reader_role_name" {
  description = "Name (with its path, if any) of the IAM role that alone may read the salt link records under salt-links/ in the events bucket: the role that builds the warehouse's mapping table across a salt rotation (docs/salt-rotation.md). A link table joins identities across time, so no other principal, Snowflake's loading role included, may read it. Managed outside this repository, with its own s3:GetObject and kms:Decrypt (storage key) permissions."
  type        = string
  default     = "snowplow-salt-links-reader"

  validation {
    condition     = can(regex("^([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", var.salt_links_reader_role_name))
    error_message = "salt_links_reader_role_name must be an IAM role name, optionally with its path, without the ARN prefix."
  }
}

variable "salt_link_window_seconds" {
  description = "Seconds before and after each salt version's activation in which the enriched pseudonymization function writes link records (old and new pseudonym of each identifier). 0: no links."
  type        = number
  default     = 86400

  validation {
    condition     = var.salt_link_window_seconds >= 0 && var.salt_link_window_seconds <= 2592000 && floor(var.salt_link_window_seconds) == var.salt_link_window_seconds
    error_message = "salt_link_window_seconds must be a whole number from 0 to 2592000 (30 days)."
  }
}

variable "salt_links_retention_days" {
  description = "Days the salt link records are kept before S3 deletes them: long enough to build the mapping table and re-key history after a rotation, no longer (they join identities across time)."
  type        = number
  default     = 90

  validation {
    condition     = var.salt_links_retention_days >= 1 && floor(var.salt_links_retention_days) == var.salt_links_retention_days
    error_message = "salt_links_retention_days must be a whole number of at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days the S3 server access logs and load balancer access logs are kept (they hold client IP addresses)."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_retention_days >= 1 && floor(var.access_log_retention_days) == var.access_log_retention_days
    error_message = "access_log_retention_days must be a whole number of at least 1."
  }
}

# --- operations (monitoring, Snowflake access) ---

variable "snowflake_storage_integration" {
  description = "The Snowflake storage integration's identity, from `DESC INTEGRATION`: { iam_user_arn = STORAGE_AWS_IAM_USER_ARN, external_id = STORAGE_AWS_EXTERNAL_ID }. null until the integration exists; the role it assumes is created once this is set (docs/snowflake.md, order of operations)."
  type = object({
    iam_user_arn = string
    external_id  = string
  })
  default = null
}

variable "snowpipe_sqs_queue_arn" {
  description = "The Snowpipe SQS queue ARN (`notification_channel` in SHOW PIPES). null until the pipes exist; the bucket notification is created once this is set (docs/snowflake.md)."
  type        = string
  default     = null
}

# --- compute (collector, enricher) ---

variable "vpc_id" {
  description = "The existing VPC the collector's load balancer and both fleets run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of vpc_id, in at least two Availability Zones, for the collector's internet-facing load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets of vpc_id, one per Availability Zone, for the collector and enricher instances. They need outbound HTTPS (NAT gateway or VPC endpoints)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate (same region) for the collector's HTTPS listener: the collector hostname GitLab.com sends events to."
  type        = string
}

variable "collector_ingress_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the collector's load balancer on 443 (and 80, which only redirects to HTTPS)."
  type        = list(string)
}

variable "collector_instance_type" {
  description = "Instance type of the collector fleet (not burstable)."
  type        = string
}

variable "enricher_instance_type" {
  description = "Instance type of the enricher fleet (not burstable; Enrich is the pipeline's CPU-heavy stage)."
  type        = string
}

variable "enricher_egress" {
  description = "Outbound TCP destinations of the enricher instances besides HTTPS (443), keyed by a short name: { description, port, cidr_ipv4 } each (the enricher module's egress, which ec2-fleet validates). An API or SQL enrichment, or a private Iglu registry, on another port needs its entry; set in terraform.tfvars so that each one is reviewed."
  type = map(object({
    description = string
    port        = number
    cidr_ipv4   = string
  }))
}

variable "alarm_email_subscribers" {
  description = "E-mail addresses that receive each priority's alarms, keyed P1, P2, P3 (docs/alarms.md). Each address must confirm the subscription e-mail AWS sends it."
  type        = map(list(string))
  default     = {}
}

variable "alarm_https_subscribers" {
  description = "HTTPS endpoints that receive each priority's alarms, keyed P1, P2, P3: typically a PagerDuty CloudWatch integration URL for P1. The URLs embed a routing key, so set this as the masked CI/CD variable TF_VAR_alarm_https_subscribers (JSON, e.g. {\"P1\": [\"https://events.pagerduty.com/integration/KEY/enqueue\"]}), never in terraform.tfvars."
  type        = map(list(string))
  default     = {}
  sensitive   = true
}

variable "alarm_thresholds" {
  description = "This environment's alarm thresholds (docs/alarms.md says what each alarm means and why its number is what it is): each attribute is the monitoring module's variable of the same name, which validates it; an attribute left out or null takes the module's default. Set in terraform.tfvars."
  type = object({
    collector_5xx_rate_percent      = optional(number)
    enrichment_lag_seconds          = optional(number)
    enrichment_stalled_seconds      = optional(number)
    delivery_lag_seconds            = optional(number)
    delivery_freshness_seconds      = optional(number)
    lambda_response_bytes_threshold = optional(number)
    low_good_events_threshold       = optional(number)
    bad_to_good_ratio_percent       = optional(number)
  })
  default  = {}
  nullable = false
}

variable "runbook_base_url" {
  description = "Web address of docs/alarms.md as a browser shows it, so that every alarm's text ends with a link that works from an e-mail or a pager (Runbook: <url>#<section>). CI sets it from the project's own address (TF_VAR_runbook_base_url in .gitlab-ci.yml); null (local runs) keeps the repository-relative path. The modules validate it."
  type        = string
  default     = null
}
