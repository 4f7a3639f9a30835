# --- What runs on the instances ---

variable "name" {
  description = "Name of the Auto Scaling group, launch template, IAM role, instance profile and log group (/snowplow/NAME); the security group is NAME-instances."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,46}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 48 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "description" {
  description = "What the instances run, e.g. \"Scala Stream Collector\": it begins the descriptions of the IAM role, the security group and the launch template, and names the app's part of the boot script."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$", var.description))
    error_message = "description must be 1 to 63 letters, digits, spaces, dots, underscores or hyphens, starting with a letter or digit (it goes into AWS descriptions, which refuse most punctuation)."
  }
}

variable "image" {
  description = "The app's container image with an explicit version tag, e.g. snowplow/scala-stream-collector-kinesis:3.2.0. The common boot steps pull it into Docker; boot_script runs it as \"$image\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be REPOSITORY:TAG with an explicit version tag (not latest), so every instance of a launch template version runs the same code."
  }
}

variable "boot_script" {
  description = "The app's part of the boot script (bash, no shebang): it runs after the fleet's common steps, under `set -Eeuo pipefail` and the trap that marks the instance unhealthy on failure, with Docker and the CloudWatch agent running, the image pulled, and $region, $instance_id, $log_group, $image and `retry COMMAND...` defined."
  type        = string

  validation {
    condition     = length(trimspace(var.boot_script)) > 0 && !startswith(var.boot_script, "#!")
    error_message = "boot_script must be the app's boot commands without a shebang line; the fleet's user data begins with #!/bin/bash itself."
  }
}

variable "config_sha256" {
  description = "SHA-256 of the configuration that boot_script carries. It is the config_sha256 tag of the instances in the launch template, so a configuration change is a new launch template version, which the group's instance refresh rolls out."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.config_sha256))
    error_message = "config_sha256 must be a SHA-256 in lower-case hex (64 characters), as sha256() returns it."
  }
}

variable "policy_json" {
  description = "The app's own IAM policy document (jsonencode of Version and Statement), attached to the instance role as the inline policy NAME. The fleet adds its own: Session Manager, the log group, the agent's metrics and reporting a failed boot."
  type        = string

  validation {
    condition     = try(jsondecode(var.policy_json).Version == "2012-10-17" && length(jsondecode(var.policy_json).Statement) > 0, false)
    error_message = "policy_json must be an IAM policy document in JSON with Version \"2012-10-17\" and at least one statement."
  }
}

# --- Network ---

variable "vpc_id" {
  description = "VPC of the instances' security group."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets the group launches instances in, one per Availability Zone. They need outbound HTTPS (NAT gateway or VPC endpoints) to reach the AWS APIs, the package repositories and the container registry."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must list at least one subnet id (subnet-...); use one per Availability Zone."
  }
}

variable "additional_egress" {
  description = "Outbound TCP destinations of the instances besides HTTPS (443) anywhere, keyed by a short name: each is a port, an IPv4 CIDR block and the description EC2 shows (letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* only, which EC2 enforces at apply time). Empty by default: a reviewed change adds one, e.g. for an SQL enrichment's database."
  type = map(object({
    description = string
    port        = number
    cidr_ipv4   = string
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k, rule in var.additional_egress : can(regex("^[a-z][a-z0-9_-]{0,31}$", k))])
    error_message = "additional_egress keys must be short names of lower-case letters, digits, underscores and hyphens, starting with a letter (at most 32 characters)."
  }

  validation {
    condition     = alltrue([for rule in var.additional_egress : can(regex("^[a-zA-Z0-9. _:/()#,@\\[\\]+=&;{}!$*-]{1,255}$", rule.description))])
    error_message = "Every additional_egress description must be 1 to 255 characters of letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* (EC2 refuses any other character, such as an apostrophe)."
  }

  validation {
    condition     = alltrue([for rule in var.additional_egress : rule.port >= 1 && rule.port <= 65535 && floor(rule.port) == rule.port && rule.port != 443])
    error_message = "Every additional_egress port must be a whole number from 1 to 65535 other than 443 (HTTPS anywhere is always allowed)."
  }

  validation {
    condition     = alltrue([for rule in var.additional_egress : can(cidrnetmask(rule.cidr_ipv4))])
    error_message = "Every additional_egress cidr_ipv4 must be an IPv4 CIDR block such as 10.20.0.0/16."
  }
}

variable "launch_after" {
  description = "Ids of resources the app module creates that the instances need before they launch (for example the security group rule that admits its load balancer): the Auto Scaling group depends on them. Their values are not used."
  type        = list(string)
  default     = []
  nullable    = false
}

# --- Health ---

variable "health_check_type" {
  description = "How the group judges an instance: ELB (the target groups' health checks; needs target_group_arns) or EC2 (the instance status only; the boot script's failure trap covers a broken boot)."
  type        = string

  validation {
    condition     = contains(["EC2", "ELB"], var.health_check_type)
    error_message = "health_check_type must be EC2 or ELB."
  }
}

variable "target_group_arns" {
  description = "Target groups the group registers its instances with; empty for a fleet behind no load balancer."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.target_group_arns : can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/.+$", arn))])
    error_message = "target_group_arns must be Elastic Load Balancing target group ARNs (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)."
  }
}

# --- Logs ---

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log group. Its key policy must allow the CloudWatch Logs service principal of the region."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

# --- Instances, scaling, logs and metrics ---

variable "settings" {
  description = <<-EOT
    Instances, scaling, log retention and metrics of the fleet; every attribute but max_size has a
    default, and an attribute given as null takes it.
    instance_type: EC2 type (default c6i.large). Burstable types (t2, t3, t3a, t4g) are refused:
      once their CPU credits run out they are throttled to a fraction of a core, which has stalled
      this pipeline before. Graviton types get the arm64 image.
    root_volume_size_gb: size of the encrypted gp3 root volume, 8 to 1024 GiB (default 20).
    min_size, max_size, desired_capacity: the group's bounds, at least 1, and the instances to run
      now (default min 2, desired null: the scaling policies own it and Terraform never resets
      what they chose; set it only to pre-scale for a known peak).
    instance_warmup_seconds: time a new instance gets to boot before health checks count and its
      metrics feed scaling, 60 to 3600 (default 300).
    cpu_target_percent: the CPU target-tracking policy's target, 10 to 90 (default 60).
    log_retention_days: days the container logs are kept, a value CloudWatch Logs accepts
      (default 365).
    metrics_namespace: CloudWatch namespace of the agent's memory and disk metrics, not AWS/...
      (default Snowplow/EC2).
  EOT
  type = object({
    instance_type           = optional(string, "c6i.large")
    root_volume_size_gb     = optional(number, 20)
    min_size                = optional(number, 2)
    max_size                = number
    desired_capacity        = optional(number)
    instance_warmup_seconds = optional(number, 300)
    cpu_target_percent      = optional(number, 60)
    log_retention_days      = optional(number, 365)
    metrics_namespace       = optional(string, "Snowplow/EC2")
  })

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.settings.instance_type)) && !can(regex("^t[0-9]", var.settings.instance_type))
    error_message = "settings.instance_type must be a non-burstable EC2 instance type such as c6i.large or c7g.large; t2, t3, t3a and t4g throttle when their CPU credits run out."
  }

  validation {
    condition     = var.settings.root_volume_size_gb >= 8 && var.settings.root_volume_size_gb <= 1024 && floor(var.settings.root_volume_size_gb) == var.settings.root_volume_size_gb
    error_message = "settings.root_volume_size_gb must be a whole number from 8 (the Amazon Linux 2023 image) to 1024."
  }

  validation {
    condition = alltrue([
      for size in [var.settings.min_size, var.settings.max_size, var.settings.desired_capacity] : size >= 1 && floor(size) == size if size != null
    ])
    error_message = "settings.min_size, max_size and desired_capacity must be whole numbers of at least 1."
  }

  validation {
    condition     = var.settings.min_size <= var.settings.max_size && (var.settings.desired_capacity == null ? true : var.settings.desired_capacity >= var.settings.min_size && var.settings.desired_capacity <= var.settings.max_size)
    error_message = "The group needs settings.min_size <= desired_capacity <= max_size (desired_capacity may be null); got min ${var.settings.min_size}, desired ${coalesce(var.settings.desired_capacity, "null")}, max ${var.settings.max_size}."
  }

  validation {
    condition     = var.settings.instance_warmup_seconds >= 60 && var.settings.instance_warmup_seconds <= 3600
    error_message = "settings.instance_warmup_seconds must be from 60 to 3600."
  }

  validation {
    condition     = var.settings.cpu_target_percent >= 10 && var.settings.cpu_target_percent <= 90
    error_message = "settings.cpu_target_percent must be from 10 to 90."
  }

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.settings.log_retention_days)
    error_message = "settings.log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.settings.metrics_namespace)) && !startswith(var.settings.metrics_namespace, "AWS/")
    error_message = "settings.metrics_namespace must be 1 to 255 characters (letters, digits, . _ / # : -) and must not start with AWS/."
  }
}
