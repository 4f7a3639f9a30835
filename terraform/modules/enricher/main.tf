data "aws_partition" "current" {}

data "aws_region" "current" {}

# The provider's default_tags reach the launch template but not what the group launches from it.
data "aws_default_tags" "current" {}

# Only needed to name the Iglu API key secret in IAM (see local.iglu_api_key_secret_arn).
data "aws_caller_identity" "current" {
  count = var.iglu_api_key == null ? 0 : 1
}

# Amazon Linux 2023, resolved at plan time from AWS's public parameter. A new image release shows
# in the plan as a launch template change and rolls the fleet like any other reviewed change.
data "aws_ssm_parameter" "ami" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${local.architecture}"
}

locals {
  # Graviton families (a1, c7g, m6gd, r8g, im4gn...) run arm64; every other family runs x86_64.
  architecture = can(regex("^(a1|[a-z]+[0-9]+g[a-z]*)\\.", var.instance_type)) ? "arm64" : "x86_64"

  region         = data.aws_region.current.name
  log_group_name = "/snowplow/${var.name}"

  # Every file Enrich reads, by its path under the configuration folder.
  config_files = merge(
    { "enrich.hocon" = var.config, "iglu_resolver.json" = var.iglu_resolver },
    { for name, text in var.enrichments : "enrichments/${name}.json" => text },
  )
  config_sha256 = sha256(jsonencode(local.config_files))

  # Secrets Manager appends six random characters to a secret's name in its ARN.
  iglu_api_key_secret_arn = var.iglu_api_key == null ? null : join(":", [
    "arn", data.aws_partition.current.partition, "secretsmanager", local.region,
    data.aws_caller_identity.current[0].account_id, "secret", "${var.iglu_api_key.secret_name}-??????",
  ])

  # Statements that exist only when their feature is configured (null otherwise).
  optional_statements = [
    var.iglu_api_key == null ? null : {
      Sid      = "ReadIgluApiKey"
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = [local.iglu_api_key_secret_arn]
    },
    var.iglu_api_key == null ? null : {
      Sid       = "DecryptIgluApiKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt"]
      Resource  = [var.iglu_api_key.kms_key_arn]
      Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } }
    },
    length(var.s3_asset_uris) == 0 ? null : {
      Sid      = "ReadEnrichmentAssets"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = [for uri in var.s3_asset_uris : "arn:${data.aws_partition.current.partition}:s3:::${trimsuffix(trimprefix(uri, "s3://"), "/")}/*"]
    },
  ]

  cloudwatch_agent_config = jsonencode({
    agent = { metrics_collection_interval = 60 }
    metrics = {
      namespace              = var.metrics_namespace
      append_dimensions      = { InstanceId = "$${aws:InstanceId}" }
      aggregation_dimensions = [["AutoScalingGroupName"]]
      metrics_collected = {
        mem  = { measurement = ["mem_used_percent"], append_dimensions = { AutoScalingGroupName = var.name } }
        disk = { measurement = ["used_percent"], resources = ["/"], drop_device = true, append_dimensions = { AutoScalingGroupName = var.name } }
      }
    }
  })

  user_data = templatefile("${path.module}/templates/user-data.sh.tftpl", {
    region                  = local.region
    image                   = var.image
    config_files_base64     = { for path, text in local.config_files : path => base64encode(text) }
    config_sha256           = local.config_sha256
    log_group_name          = local.log_group_name
    cloudwatch_agent_config = local.cloudwatch_agent_config
    iglu_api_key_secret     = try(var.iglu_api_key.secret_name, "")
    iglu_api_key_env_var    = try(var.iglu_api_key.env_var, "")
  })

  # gzip-compressed (cloud-init decompresses it) so that configuration growth stays far from EC2's
  # 16 KB user-data limit; 21844 base64 characters encode at most 16383 bytes.
  user_data_base64 = base64gzip(local.user_data)
}

# --- KCL lease table, named by the KCL application name ---

resource "aws_dynamodb_table" "leases" {
  name                        = var.app_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "leaseKey"
  deletion_protection_enabled = var.prevent_destroy

  attribute {
    name = "leaseKey"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.lease_table_kms_key_arn
  }

  lifecycle {
    precondition {
      condition     = can(regex("\"?appName\"?\\s*[:=]\\s*\"${var.app_name}\"", var.config))
      error_message = "The enrich configuration's appName is not \"${var.app_name}\", the lease table's name; the rendered configuration is stale or from another environment. Run `make configs` and plan again."
    }
  }
}

# lifecycle.prevent_destroy cannot take a variable, so the guard is a resource replaced whenever the
# table is: a plan that destroys or replaces the table must destroy the guard, and Terraform refuses
# it. The same guard as the data path's stateful resources (docs/data-path.md).
resource "terraform_data" "prevent_destroy" {
  count = var.prevent_destroy ? 1 : 0

  triggers_replace = [aws_dynamodb_table.leases.arn]

  lifecycle {
    prevent_destroy = true
  }
}

# --- Security group: no inbound traffic at all; HTTPS out ---

resource "aws_security_group" "instances" {
  name        = "${var.name}-instances"
  description = "Enricher instances: nothing inbound, HTTPS out to AWS APIs, Iglu registries, enrichment assets and registries"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "instances_https" {
  security_group_id = aws_security_group.instances.id
  description       = "HTTPS to Kinesis, DynamoDB, CloudWatch, SSM, Secrets Manager, Iglu, enrichment assets, package repositories and the container registry"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- IAM: read raw-good, write the enriched streams, hold KCL leases, ship logs and metrics ---

resource "aws_iam_role" "this" {
  name        = var.name
  description = "Snowplow Enrich instances"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
    }]
  })
}

resource "aws_iam_role_policy_attachment" "session_manager" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "this" {
  name = var.name
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ReadRawGoodStream"
          Effect   = "Allow"
          Action   = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
          Resource = [var.raw_good_stream_arn]
        },
        {
          Sid      = "WriteEnrichedStreams"
          Effect   = "Allow"
          Action   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"]
          Resource = [var.enriched_good_stream_arn, var.enriched_bad_stream_arn]
        },
        {
          # Decrypt what raw-good holds, encrypt what the enriched streams receive.
          Sid       = "UseStreamsKey"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = [var.streams_kms_key_arn]
          Condition = { StringEquals = { "kms:ViaService" = "kinesis.${local.region}.amazonaws.com" } }
        },
        {
          # What KCL 2.x does with an existing lease table (it never needs to create one).
          Sid      = "ManageLeases"
          Effect   = "Allow"
          Action   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
          Resource = [aws_dynamodb_table.leases.arn]
        },
        {
          Sid       = "UseLeaseTableKey"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
          Resource  = [var.lease_table_kms_key_arn]
          Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
        },
        {
          Sid      = "WriteContainerLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
        },
        {
          # KCL's metrics (namespace = application name) and the CloudWatch agent's.
          Sid       = "PublishMetrics"
          Effect    = "Allow"
          Action    = ["cloudwatch:PutMetricData"]
          Resource  = ["*"]
          Condition = { StringEquals = { "cloudwatch:namespace" = [var.app_name, var.metrics_namespace] } }
        },
      ],
      [for statement in local.optional_statements : statement if statement != null],
    )
  })
}

# Separate from the policy above because it names the group, which must not wait for it: instances
# launch with their working permissions, and this one follows as soon as the group exists.
resource "aws_iam_role_policy" "report_failed_boot" {
  name = "${var.name}-report-failed-boot"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ReportFailedBoot"
      Effect   = "Allow"
      Action   = ["autoscaling:SetInstanceHealth"]
      Resource = [aws_autoscaling_group.this.arn]
    }]
  })
}

resource "aws_iam_instance_profile" "this" {
  name = var.name
  role = aws_iam_role.this.name
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

# --- Instances ---

resource "aws_launch_template" "this" {
  name                   = var.name
  description            = "Snowplow Enrich on Amazon Linux 2023 (${local.architecture})"
  image_id               = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = var.instance_type
  ebs_optimized          = true
  update_default_version = true
  user_data              = local.user_data_base64

  iam_instance_profile {
    arn = aws_iam_instance_profile.this.arn
  }

  network_interfaces {
    associate_public_ip_address = false
    delete_on_termination       = true
    security_groups             = [aws_security_group.instances.id]
  }

  # IMDSv2 only. The container shares the host's network namespace, so the instance role is one hop
  # away and the hop limit stays at 1: nothing behind a bridge network can reach the credentials.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size_gb
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  # Instances and volumes carry the provider's default tags too. config_sha256 makes every
  # configuration change a new launch template version, which the group's instance refresh rolls out.
  tag_specifications {
    resource_type = "instance"
    tags          = merge(data.aws_default_tags.current.tags, { Name = var.name, config_sha256 = local.config_sha256 })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(data.aws_default_tags.current.tags, { Name = var.name })
  }

  lifecycle {
    precondition {
      condition     = length(local.user_data_base64) <= 21844
      error_message = "The enricher's user data compresses to about ${floor(length(local.user_data_base64) * 3 / 4)} bytes, over EC2's 16 KB limit: the configuration files it carries are too large."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name                      = var.name
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.min_size
  max_size                  = var.max_size
  desired_capacity          = var.desired_capacity
  health_check_type         = "EC2"
  health_check_grace_period = var.instance_warmup_seconds
  default_instance_warmup   = var.instance_warmup_seconds
  enabled_metrics = [
    "GroupDesiredCapacity", "GroupInServiceInstances", "GroupMaxSize", "GroupMinSize",
    "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances",
  ]

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # A new launch template version (new configuration, image or instance settings) replaces the
  # instances gradually: new ones start before old ones stop, at least 90% stay healthy, and a
  # refresh whose new instances report a failed boot rolls back.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 90
      max_healthy_percentage = 190
      skip_matching          = true
      auto_rollback          = true
    }
  }

  tag {
    key                 = "Name"
    value               = var.name
    propagate_at_launch = false
  }

  # Instances must boot with their permissions and their lease table in place.
  depends_on = [aws_iam_role_policy.this, aws_iam_role_policy_attachment.session_manager]

  lifecycle {
    precondition {
      condition     = var.min_size <= var.max_size && (var.desired_capacity == null ? true : var.desired_capacity >= var.min_size && var.desired_capacity <= var.max_size)
      error_message = "The enricher group needs min_size <= desired_capacity <= max_size (desired_capacity may be null); got min ${var.min_size}, desired ${coalesce(var.desired_capacity, "null")}, max ${var.max_size}."
    }
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                   = "${var.name}-cpu"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.cpu_target_percent

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
