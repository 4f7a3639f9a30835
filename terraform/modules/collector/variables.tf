# --- Naming and network ---

variable "name" {
  description = "Name of the load balancer, Auto Scaling group, launch template, IAM role and log group (/snowplow/NAME). The target group is NAME-PORT, so NAME has at most 26 characters."
  type        = string
  default     = "snowplow-collector"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,24}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 26 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen (load balancer and target group names are limited to 32)."
  }
}

variable "vpc_id" {
  description = "VPC that holds the load balancer and the instances."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as vpc-0123456789abcdef0."
  }
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
  description = "Private subnets for the collector instances. They need outbound HTTPS (NAT gateway or VPC endpoints) to reach Kinesis, CloudWatch, SSM, the package repositories and the container registry."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "private_subnet_ids must list at least one subnet id (subnet-...); use one per Availability Zone."
  }
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
  description = "Scala Stream Collector container image with an explicit version tag, e.g. snowplow/scala-stream-collector-kinesis:3.2.0."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be REPOSITORY:TAG with an explicit version tag (not latest), so every instance of a launch template version runs the same code."
  }
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
  description = "Days the collector's container logs are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the instances' memory and disk metrics, published by the CloudWatch agent with an AutoScalingGroupName dimension."
  type        = string
  default     = "Snowplow/EC2"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1 to 255 characters (letters, digits, . _ / # : -) and must not start with AWS/."
  }
}

# --- Instances and scaling ---

variable "instance_type" {
  description = "EC2 instance type. Burstable types (t2, t3, t3a, t4g) are refused: once their CPU credits run out they are throttled to a fraction of a core, which has stalled this pipeline before. Graviton types get the arm64 image."
  type        = string
  default     = "c6i.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type)) && !can(regex("^t[0-9]", var.instance_type))
    error_message = "instance_type must be a non-burstable EC2 instance type such as c6i.large or c7g.large; t2, t3, t3a and t4g throttle when their CPU credits run out."
  }
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted gp3 root volume, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 1024 && floor(var.root_volume_size_gb) == var.root_volume_size_gb
    error_message = "root_volume_size_gb must be a whole number from 8 (the Amazon Linux 2023 image) to 1024."
  }
}

variable "min_size" {
  description = "Minimum number of collector instances. Keep at least 2 so that one Availability Zone or one instance refresh never takes the endpoint down."
  type        = number
  default     = 2

  validation {
    condition     = var.min_size >= 1 && floor(var.min_size) == var.min_size
    error_message = "min_size must be a whole number of at least 1."
  }
}

variable "max_size" {
  description = "Maximum number of collector instances that target tracking may scale out to."
  type        = number
  default     = 8

  validation {
    condition     = var.max_size >= 1 && floor(var.max_size) == var.max_size
    error_message = "max_size must be a whole number of at least 1."
  }
}

variable "desired_capacity" {
  description = "Number of instances to run now. Leave null to let the scaling policies own it (Terraform then never resets what they chose); set it only to pre-scale for a known peak."
  type        = number
  default     = null
}

variable "instance_warmup_seconds" {
  description = "Seconds a new instance gets to boot (install Docker, pull the image, start the JVM) before health checks count and before its metrics feed scaling decisions."
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

variable "requests_per_target_per_minute" {
  description = "Target of the ALBRequestCountPerTarget metric: requests each instance should receive per minute on average, for target-tracking scaling."
  type        = number
  default     = 30000

  validation {
    condition     = var.requests_per_target_per_minute >= 100
    error_message = "requests_per_target_per_minute must be at least 100."
  }
}
