# --- Naming and network ---

variable "name" {
  description = "Name of the Auto Scaling group, launch template, IAM role and log group (/snowplow/NAME); the security group is NAME-instances. 2 to 48 characters (ec2-fleet checks it)."
  type        = string
  default     = "snowplow-enricher"
}

variable "vpc_id" {
  description = "VPC that holds the instances (ec2-fleet checks it)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the enricher instances, one per Availability Zone (ec2-fleet checks them). They need outbound HTTPS (NAT gateway or VPC endpoints) to reach Kinesis, DynamoDB, CloudWatch, SSM, Secrets Manager, Iglu registries, enrichment assets, the package repositories and the container registry."
  type        = list(string)
}

# --- Application ---

variable "app_name" {
  description = "KCL application name: the name of the DynamoDB lease table and of KCL's CloudWatch metrics namespace. It must be the appName of the enrich configuration (both come from pipeline.yaml enrich.app_name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.app_name))
    error_message = "app_name must be 3 to 255 letters, digits, underscores, dots or hyphens (a DynamoDB table name)."
  }
}

variable "image" {
  description = "Snowplow Enrich (Kinesis) container image with an explicit version tag, e.g. snowplow/snowplow-enrich-kinesis:5.1.2 (ec2-fleet checks the tag: never latest)."
  type        = string
}

variable "config" {
  description = "The rendered enrich configuration (HOCON), i.e. the contents of build/config/<env>/enrich.hocon."
  type        = string

  validation {
    condition     = length(trimspace(var.config)) > 0
    error_message = "config must be the rendered enrich configuration; it is empty. Run `make configs` first."
  }
}

variable "iglu_resolver" {
  description = "The rendered Iglu resolver configuration, i.e. the contents of build/config/<env>/iglu_resolver.json. JSON, except that a private registry's apikey is a HOCON environment substitution (see iglu_api_key), which Enrich resolves at start."
  type        = string

  validation {
    condition     = length(trimspace(var.iglu_resolver)) > 0
    error_message = "iglu_resolver must be the rendered Iglu resolver configuration; it is empty. Run `make configs` first."
  }
}

variable "enrichments" {
  description = "The rendered enrichment configurations (JSON) by enrichment name, i.e. build/config/<env>/enrichments/NAME.json for each enrichment the environment enables."
  type        = map(string)

  validation {
    condition     = alltrue([for name, text in var.enrichments : can(regex("^[a-z0-9_]+$", name)) && length(trimspace(text)) > 0])
    error_message = "enrichments must map enrichment names (lower-case letters, digits, underscores) to their rendered configurations; run `make configs` if one is empty."
  }
}

variable "iglu_api_key" {
  description = <<-EOT
    The private Iglu registry's API key, or null when the resolver needs none. secret_name: the
    Secrets Manager secret holding the key (created out of band, encrypted with kms_key_arn);
    env_var: the environment variable the resolver's apikey substitution reads (pipeline.yaml
    enrich.iglu.api_key_env_var). Instances read the secret at boot with their role and pass it to
    Enrich through a root-only env file on tmpfs: it never enters user data, a command line, a log
    or Terraform state.
  EOT
  type = object({
    secret_name = string
    env_var     = string
    kms_key_arn = string
  })
  default = null

  validation {
    condition = var.iglu_api_key == null ? true : alltrue([
      can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.iglu_api_key.secret_name)),
      can(regex("^[A-Z_][A-Z0-9_]*$", var.iglu_api_key.env_var)),
      can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.iglu_api_key.kms_key_arn)),
    ])
    error_message = "iglu_api_key needs a Secrets Manager secret name (letters, digits and /_+=.@-), an upper-case environment variable name such as IGLU_API_KEY, and a KMS key ARN."
  }
}

variable "s3_asset_uris" {
  description = "s3:// folders that enrichments download assets from (e.g. ip_lookups' geo_uri); instances may read the objects under each. Assets fetched over HTTPS need nothing here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for uri in var.s3_asset_uris : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", uri))])
    error_message = "s3_asset_uris must be s3://BUCKET or s3://BUCKET/FOLDER/ URIs."
  }
}

variable "egress" {
  description = "Outbound TCP destinations of the instances besides HTTPS (443) anywhere, keyed by a short name: { description, port, cidr_ipv4 } each, passed to ec2-fleet as additional_egress, which checks them. An API or SQL enrichment's server, or a private Iglu registry, on any other port needs an entry here: without one its requests fail (Enrich logs timeouts) and the events go to enriched-bad."
  type = map(object({
    description = string
    port        = number
    cidr_ipv4   = string
  }))
  default  = {}
  nullable = false
}

variable "accept_limited_use_license" {
  description = "Acceptance of the Snowplow Limited Use License (https://docs.snowplow.io/limited-use-license-1.1), which Enrich requires to start. Must be set to true explicitly."
  type        = bool

  validation {
    condition     = var.accept_limited_use_license
    error_message = "accept_limited_use_license must be true: Snowplow Enrich refuses to start unless its licence is accepted."
  }
}

# --- Data path it reads and writes ---

variable "raw_good_stream_arn" {
  description = "ARN of the Kinesis stream Enrich reads collector payloads from (raw-good)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", var.raw_good_stream_arn))
    error_message = "raw_good_stream_arn must be a Kinesis stream ARN."
  }
}

variable "enriched_good_stream_arn" {
  description = "ARN of the Kinesis stream Enrich writes enriched events to (enriched-good)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", var.enriched_good_stream_arn))
    error_message = "enriched_good_stream_arn must be a Kinesis stream ARN."
  }
}

variable "enriched_bad_stream_arn" {
  description = "ARN of the Kinesis stream Enrich writes failed events (bad rows) to (enriched-bad)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", var.enriched_bad_stream_arn))
    error_message = "enriched_bad_stream_arn must be a Kinesis stream ARN."
  }
}

variable "streams_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the streams: instances decrypt raw-good and generate data keys for the enriched streams with it, through Kinesis only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.streams_kms_key_arn))
    error_message = "streams_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "lease_table_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the lease table; instances use it through DynamoDB only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.lease_table_kms_key_arn))
    error_message = "lease_table_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "prevent_destroy" {
  description = "Guard the lease table, which holds every shard's checkpoint (without it Enrich would reprocess raw-good from its initial position): Terraform refuses any plan that destroys or replaces it (the guard of docs/data-path.md), and DynamoDB's deletion protection refuses a deletion from anywhere else. Only a throwaway environment sets false."
  type        = bool
  default     = true
}

# --- Instances, scaling, logs and metrics (the ec2-fleet module) ---

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the instances' log group (ec2-fleet checks it). Its key policy must allow the CloudWatch Logs service principal of the region."
  type        = string
}

variable "fleet" {
  description = "Settings of the enricher instances (KCL workers), passed to ec2-fleet as its `settings`, which checks them and defaults what is left out: instance_type (non-burstable, c6i.large), root_volume_size_gb (20: the image, enrichment assets such as parser databases, logs), min_size (2: one instance's loss or replacement must not stop enrichment), max_size (4 here: more workers than raw-good has shards sit idle, so keep it at or below the shard count), desired_capacity (null: the scaling policy owns it), instance_warmup_seconds (300), cpu_target_percent (60), log_retention_days (365), metrics_namespace (Snowplow/EC2; KCL's own metrics go to the app_name namespace)."
  type = object({
    instance_type           = optional(string)
    root_volume_size_gb     = optional(number)
    min_size                = optional(number)
    max_size                = optional(number, 4)
    desired_capacity        = optional(number)
    instance_warmup_seconds = optional(number)
    cpu_target_percent      = optional(number)
    log_retention_days      = optional(number)
    metrics_namespace       = optional(string)
  })
  default  = {}
  nullable = false
}
