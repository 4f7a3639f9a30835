data "aws_partition" "current" {}

data "aws_region" "current" {}

# The provider's default_tags reach the launch template but not what the group launches from it.
data "aws_default_tags" "current" {}

# Amazon Linux 2023, resolved at plan time from AWS's public parameter. A new image release shows
# in the plan as a launch template change and rolls the fleet like any other reviewed change.
data "aws_ssm_parameter" "ami" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${local.architecture}"
}

locals {
  # Graviton families (a1, c7g, m6gd, r8g, im4gn...) run arm64; every other family runs x86_64.
  architecture = can(regex("^(a1|[a-z]+[0-9]+g[a-z]*)\\.", var.settings.instance_type)) ? "arm64" : "x86_64"

  log_group_name = "/snowplow/${var.name}"

  # Memory and disk metrics, which EC2 does not publish, per instance and per group.
  cloudwatch_agent_config = jsonencode({
    agent = { metrics_collection_interval = 60 }
    metrics = {
      namespace              = var.settings.metrics_namespace
      append_dimensions      = { InstanceId = "$${aws:InstanceId}" }
      aggregation_dimensions = [["AutoScalingGroupName"]]
      metrics_collected = {
        mem  = { measurement = ["mem_used_percent"], append_dimensions = { AutoScalingGroupName = var.name } }
        disk = { measurement = ["used_percent"], resources = ["/"], drop_device = true, append_dimensions = { AutoScalingGroupName = var.name } }
      }
    }
  })

  # The fleet's common boot steps, then the app's own.
  user_data = templatefile("${path.module}/templates/user-data.sh.tftpl", {
    description             = var.description
    region                  = data.aws_region.current.name
    image                   = var.image
    log_group_name          = local.log_group_name
    cloudwatch_agent_config = local.cloudwatch_agent_config
    boot_script             = var.boot_script
  })

  # gzip-compressed (cloud-init decompresses it) so that configuration growth stays far from EC2's
  # 16 KB user-data limit; 21844 base64 characters encode at most 16383 bytes.
  user_data_base64 = base64gzip(local.user_data)
}

# --- Security group: nothing inbound unless the calling module adds a rule; HTTPS out ---

resource "aws_security_group" "this" {
  name        = "${var.name}-instances"
  description = "${var.description} instances: HTTPS out; inbound only by the rules the app module adds"
  vpc_id      = var.vpc_id
}

# EC2 accepts only letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* in a rule's description
# (an apostrophe fails the apply, not the plan); the tests check every description here.
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to the AWS APIs, package repositories, the container registry and the HTTPS sources of the app"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# The app's other outbound destinations (an API or SQL enrichment, a private Iglu registry on
# another port), each a reviewed input: nothing else leaves the instances.
resource "aws_vpc_security_group_egress_rule" "additional" {
  for_each = var.additional_egress

  security_group_id = aws_security_group.this.id
  description       = each.value.description
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr_ipv4
}

# --- IAM: the app's policy, plus logs, metrics, Session Manager and reporting a failed boot ---

resource "aws_iam_role" "this" {
  name        = var.name
  description = "${var.description} instances"
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

resource "aws_iam_role_policy" "app" {
  name   = var.name
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

resource "aws_iam_role_policy" "logs_and_metrics" {
  name = "${var.name}-logs-and-metrics"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteContainerLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
      },
      {
        # The action has no resource-level permissions: the namespace condition is the scope.
        Sid       = "PublishInstanceMetrics"
        Effect    = "Allow"
        Action    = ["cloudwatch:PutMetricData"]
        Resource  = ["*"]
        Condition = { StringEquals = { "cloudwatch:namespace" = var.settings.metrics_namespace } }
      },
    ]
  })
}

# Separate from the policies above because it names the group, which must not wait for it: instances
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
  retention_in_days = var.settings.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

# --- Instances ---

resource "aws_launch_template" "this" {
  name                   = var.name
  description            = "${var.description} on Amazon Linux 2023 (${local.architecture})"
  image_id               = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = var.settings.instance_type
  ebs_optimized          = true
  update_default_version = true
  user_data              = local.user_data_base64

  iam_instance_profile {
    arn = aws_iam_instance_profile.this.arn
  }

  network_interfaces {
    associate_public_ip_address = false
    delete_on_termination       = true
    security_groups             = [aws_security_group.this.id]
  }

  # IMDSv2 only. The containers share the host's network namespace, so the instance role is one hop
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
      volume_size           = var.settings.root_volume_size_gb
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
    tags          = merge(data.aws_default_tags.current.tags, { Name = var.name, config_sha256 = var.config_sha256 })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(data.aws_default_tags.current.tags, { Name = var.name })
  }

  lifecycle {
    precondition {
      condition     = length(local.user_data_base64) <= 21844
      error_message = "The ${var.name} user data compresses to about ${floor(length(local.user_data_base64) * 3 / 4)} bytes, over EC2's 16 KB limit: the configuration its boot script carries is too large."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name                      = var.name
  vpc_zone_identifier       = var.subnet_ids
  min_size                  = var.settings.min_size
  max_size                  = var.settings.max_size
  desired_capacity          = var.settings.desired_capacity
  health_check_type         = var.health_check_type
  health_check_grace_period = var.settings.instance_warmup_seconds
  default_instance_warmup   = var.settings.instance_warmup_seconds
  target_group_arns         = var.target_group_arns
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
  # refresh whose new instances fail their health checks (or report a failed boot) rolls back.
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

  # Instances must boot with their permissions and their network in place: the app's policy (which
  # also waits for whatever it names, such as a lease table), the egress rules (without them the
  # package installs and the failed-boot report cannot leave the instance) and whatever the app
  # module names in launch_after (such as the rule that admits its load balancer).
  depends_on = [
    aws_iam_role_policy.app, aws_iam_role_policy.logs_and_metrics, aws_iam_role_policy_attachment.session_manager,
    aws_vpc_security_group_egress_rule.https, aws_vpc_security_group_egress_rule.additional, var.launch_after,
  ]

  lifecycle {
    precondition {
      condition     = var.health_check_type == "EC2" || length(var.target_group_arns) > 0
      error_message = "The ${var.name} group has health_check_type ELB but no target_group_arns: there would be no load balancer health check to follow."
    }
  }
}

# --- Scaling on CPU; an app module may add policies on its own metrics ---

resource "aws_autoscaling_policy" "cpu" {
  name                   = "${var.name}-cpu"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.settings.cpu_target_percent

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
