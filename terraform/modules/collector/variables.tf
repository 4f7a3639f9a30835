# --- Naming and network ---

variable "name" {
  description = "Name of the load balancer, Auto Scaling group, launch template, IAM role and log group (/snowplow/NAME); the security groups are NAME-lb and NAME-instances; the target group's name is generated from target_group_name_prefix."
  type        = string
  default     = "snowplow-collector"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name)) && !startswith(var.name, "internal-")
    error_message = "name must be 2 to 32 characters of lower-case letters, digits and hyphens, starting with a letter, not ending with a hyphen and not starting with internal- (Elastic Load Balancing's rules for a load balancer name)."
  }
}

variable "target_group_name_prefix" {
  description = "Prefix of the target group's generated name (AWS names it PREFIX plus 26 unique characters, at most 32 in all). A generated name lets a replacement create the new group before removing the old one."
  type        = string
  default     = "spcol-"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,5}$", var.target_group_name_prefix))
    error_message = "target_group_name_prefix must be 1 to 6 letters, digits or hyphens, starting with a letter or digit (the provider's limit for a target group name_prefix)."
  }
}

variable "vpc_id" {
  description = "VPC that holds the load balancer and the instances (ec2-fleet checks it)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets, in at least two Availability Zones, for the internet-facing load balancer."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for id in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "public_subnet_ids must list at least two subnet ids (subnet-...): an Application Load Balancer needs two Availability Zones."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the collector instances, one per Availability Zone (ec2-fleet checks them). They need outbound HTTPS (NAT gateway or VPC endpoints) to reach Kinesis, CloudWatch, SSM, the package repositories and the container registry."
  type        = list(string)
}

# --- Load balancer ---

variable "certificate_arn" {
  description = "ARN of the ACM certificate that the HTTPS listener presents."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)."
  }
}

variable "ssl_policy" {
  description = "Security policy of the HTTPS listener. Only policies that refuse TLS 1.0 and 1.1 are accepted."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)", var.ssl_policy))
    error_message = "ssl_policy must be a TLS 1.2+ ELB policy, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06 or ELBSecurityPolicy-TLS13-1-3-2021-06."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on ports 443 and 80 (80 only answers with a redirect to HTTPS)."
  type        = list(string)

  validation {
    condition     = length(var.ingress_cidr_blocks) > 0 && alltrue([for cidr in var.ingress_cidr_blocks : can(cidrnetmask(cidr))])
    error_message = "ingress_cidr_blocks must list at least one IPv4 CIDR block such as 203.0.113.0/24."
  }
}

variable "access_logs_bucket_name" {
  description = "S3 bucket that receives the load balancer's access logs. AWS delivers them only to buckets encrypted with SSE-S3, and the bucket policy must let the regional ELB log delivery write under access_logs_prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket_name))
    error_message = "access_logs_bucket_name must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)."
  }
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in access_logs_bucket_name, without leading or trailing slash."
  type        = string
  default     = "collector-alb"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.access_logs_prefix)) && !can(regex("AWSLogs", var.access_logs_prefix))
    error_message = "access_logs_prefix must be a key prefix without leading or trailing slash that does not contain AWSLogs (AWS adds that part itself)."
  }
}

variable "deletion_protection" {
  description = "Turn on the load balancer's deletion protection. Leave true in production; only a throw-away environment sets false."
  type        = bool
  default     = true
}

# --- Application ---

variable "port" {
  description = "Port the collector listens on inside the instance; the target group and health check use it."
  type        = number

  validation {
    condition     = var.port >= 1024 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a whole number from 1024 to 65535."
  }
}

variable "image" {
  description = "Scala Stream Collector container image with an explicit version tag, e.g. snowplow/scala-stream-collector-kinesis:3.2.0 (ec2-fleet checks the tag: never latest)."
  type        = string
}

variable "config" {
  description = "The rendered collector configuration (HOCON), i.e. the contents of build/config/<env>/collector.hocon. It is written on each instance at boot; its SHA-256 is part of the launch template, so a change rolls the fleet."
  type        = string

  validation {
    condition     = length(trimspace(var.config)) > 0
    error_message = "config must be the rendered collector configuration; it is empty. Run `make configs` first."
  }
}

variable "accept_limited_use_license" {
  description = "Acceptance of the Snowplow Limited Use License (https://docs.snowplow.io/limited-use-license-1.1), which the collector requires to start. Must be set to true explicitly."
  type        = bool

  validation {
    condition     = var.accept_limited_use_license
    error_message = "accept_limited_use_license must be true: the Scala Stream Collector refuses to start unless its licence is accepted."
  }
}

# --- Data path it writes to ---

variable "raw_good_stream_arn" {
  description = "ARN of the Kinesis stream that receives valid collector payloads (raw-good)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", var.raw_good_stream_arn))
    error_message = "raw_good_stream_arn must be a Kinesis stream ARN."
  }
}

variable "raw_bad_stream_arn" {
  description = "ARN of the Kinesis stream that receives payloads the collector cannot accept (raw-bad)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", var.raw_bad_stream_arn))
    error_message = "raw_bad_stream_arn must be a Kinesis stream ARN."
  }
}

variable "streams_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the raw streams; the instances may only generate data keys with it, through Kinesis."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.streams_kms_key_arn))
    error_message = "streams_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

# --- Instances, scaling, logs and metrics (the ec2-fleet module) ---

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the instances' log group (ec2-fleet checks it). Its key policy must allow the CloudWatch Logs service principal of the region."
  type        = string
}

variable "fleet" {
  description = "Settings of the collector instances, passed to ec2-fleet as its `settings`, which checks them and defaults what is left out: instance_type (non-burstable, c6i.large), root_volume_size_gb (20), min_size (2: one Availability Zone or one instance refresh must never take the endpoint down), max_size (8 here), desired_capacity (null: the scaling policies own it), instance_warmup_seconds (300), cpu_target_percent (60), log_retention_days (365), metrics_namespace (Snowplow/EC2)."
  type = object({
    instance_type           = optional(string)
    root_volume_size_gb     = optional(number)
    min_size                = optional(number)
    max_size                = optional(number, 8)
    desired_capacity        = optional(number)
    instance_warmup_seconds = optional(number)
    cpu_target_percent      = optional(number)
    log_retention_days      = optional(number)
    metrics_namespace       = optional(string)
  })
  default  = {}
  nullable = false
}

# --- Scaling on requests, beside the fleet's CPU policy ---

variable "requests_per_target_per_minute" {
  description = "Target of the ALBRequestCountPerTarget metric: requests each instance should receive per minute on average, for target-tracking scaling."
  type        = number
  default     = 30000

  validation {
    condition     = var.requests_per_target_per_minute >= 100
    error_message = "requests_per_target_per_minute must be at least 100."
  }
}
