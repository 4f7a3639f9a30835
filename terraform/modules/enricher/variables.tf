# --- Naming and network ---

variable "name" {
  description = "Name of the Auto Scaling group, launch template, security group, IAM role, log group (/snowplow/NAME) and the configuration parameters' path (/NAME/...)."
  type        = string
  default     = "snowplow-enricher"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,46}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 48 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "vpc_id" {
  description = "VPC that holds the instances."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the enricher instances. They need outbound HTTPS (NAT gateway or VPC endpoints) to reach Kinesis, DynamoDB, CloudWatch, SSM, Secrets Manager, Iglu registries, enrichment assets, the package repositories and the container registry."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "private_subnet_ids must list at least one subnet id (subnet-...); use one per Availability Zone."
  }
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
  description = "Snowplow Enrich (Kinesis) container image with an explicit version tag, e.g. snowplow/snowplow-enrich-kinesis:5.1.2."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be REPOSITORY:TAG with an explicit version tag (not latest), so every instance of a launch template version runs the same code."
  }
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

# --- Logs and metrics ---

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log group. Its key policy must allow the CloudWatch Logs service principal of the region."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "log_retention_days" {
  description = "Days the enricher's container logs are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the instances' memory and disk metrics, published by the CloudWatch agent with an AutoScalingGroupName dimension. KCL's own metrics go to the app_name namespace."
  type        = string
  default     = "Snowplow/EC2"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1 to 255 characters (letters, digits, . _ / # : -) and must not start with AWS/."
  }
}

# --- Instances and scaling ---

variable "instance_type" {
  description = "EC2 instance type. Burstable types (t2, t3, t3a, t4g) are refused: once their CPU credits run out they are throttled to a fraction of a core, which has stalled this pipeline's enrichment before. Graviton types get the arm64 image."
  type        = string
  default     = "c6i.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type)) && !can(regex("^t[0-9]", var.instance_type))
    error_message = "instance_type must be a non-burstable EC2 instance type such as c6i.large or c7g.large; t2, t3, t3a and t4g throttle when their CPU credits run out."
  }
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted gp3 root volume, in GiB (the image, enrichment assets such as parser databases, logs)."
  type        = number
  default     = 20

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 1024 && floor(var.root_volume_size_gb) == var.root_volume_size_gb
    error_message = "root_volume_size_gb must be a whole number from 8 (the Amazon Linux 2023 image) to 1024."
  }
}

variable "min_size" {
  description = "Minimum number of enricher instances (KCL workers). Keep at least 2 so that one instance's loss or replacement does not stop enrichment."
  type        = number
  default     = 2

  validation {
    condition     = var.min_size >= 1 && floor(var.min_size) == var.min_size
    error_message = "min_size must be a whole number of at least 1."
  }
}

variable "max_size" {
  description = "Maximum number of enricher instances. More workers than raw-good has shards sit idle, so keep it at or below the shard count."
  type        = number
  default     = 4

  validation {
    condition     = var.max_size >= 1 && floor(var.max_size) == var.max_size
    error_message = "max_size must be a whole number of at least 1."
  }
}

variable "desired_capacity" {
  description = "Number of instances to run now. Leave null to let the scaling policy own it (Terraform then never resets what it chose); set it only to pre-scale for a known peak or a backlog."
  type        = number
  default     = null
}

variable "instance_warmup_seconds" {
  description = "Seconds a new instance gets to boot (install Docker, fetch the configuration, pull the image, start the JVM) before EC2 health checks count and before its metrics feed scaling decisions."
  type        = number
  default     = 300

  validation {
    condition     = var.instance_warmup_seconds >= 60 && var.instance_warmup_seconds <= 3600
    error_message = "instance_warmup_seconds must be from 60 to 3600."
  }
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation of the group, in percent, for target-tracking scaling."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be from 10 to 90."
  }
}
