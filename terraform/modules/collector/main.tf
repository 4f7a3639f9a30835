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
  architecture = can(regex("^(a1|[a-z]+[0-9]+g[a-z]*)\\.", var.instance_type)) ? "arm64" : "x86_64"

  log_group_name = "/snowplow/${var.name}"
  config_sha256  = sha256(var.config)

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
    region                  = data.aws_region.current.name
    image                   = var.image
    config_base64           = base64encode(var.config)
    config_sha256           = local.config_sha256
    log_group_name          = local.log_group_name
    cloudwatch_agent_config = local.cloudwatch_agent_config
  })

  # gzip-compressed (cloud-init decompresses it) so that configuration growth stays far from EC2's
  # 16 KB user-data limit; 21844 base64 characters encode at most 16383 bytes.
  user_data_base64 = base64gzip(local.user_data)
}

# --- Load balancer ---

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:A web ACL is an account-level choice (Firewall Manager, or a wafv2 association on the load_balancer_arn output); the collector must accept every browser on GitLab.com, so its protection here is the ingress allowlist, dropped invalid headers and autoscaling.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.load_balancer.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    enabled = true
    bucket  = var.access_logs_bucket_name
    prefix  = var.access_logs_prefix
  }
}

resource "aws_lb_target_group" "this" {
  # TLS ends at the load balancer: the hop to the instances stays inside the VPC between two security
  # groups that admit only each other, and an ALB does not verify target certificates anyway.
  # The port is part of the name so that a port change creates the new group before the old one goes.
  name                 = "${var.name}-${var.port}"
  port                 = var.port
  protocol             = "HTTP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = "/health"
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

resource "aws_lb_listener" "http" {
  # Port 80 serves nothing: its only action is a permanent redirect to HTTPS.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# --- Security groups: the load balancer admits the allowlist, the instances admit the load balancer ---

resource "aws_security_group" "load_balancer" {
  name        = "${var.name}-lb"
  description = "Collector load balancer: HTTPS and HTTP from the allowlist, out only to the collector instances"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "load_balancer" {
  #checkov:skip=CKV_AWS_260:Port 80 serves nothing: its listener's only action is a permanent redirect to HTTPS, so admitting it from any allowlist (the internet included, as production must for GitLab.com's browsers) exposes no content.
  for_each = {
    for pair in setproduct([80, 443], var.ingress_cidr_blocks) : "${pair[0]} ${pair[1]}" => {
      port = pair[0]
      cidr = pair[1]
    }
  }

  security_group_id = aws_security_group.load_balancer.id
  description       = each.value.port == 443 ? "HTTPS from the allowlist" : "HTTP from the allowlist, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_egress_rule" "load_balancer_to_instances" {
  security_group_id            = aws_security_group.load_balancer.id
  description                  = "To the collector instances"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.instances.id
}

resource "aws_security_group" "instances" {
  name        = "${var.name}-instances"
  description = "Collector instances: the collector port from the load balancer only, HTTPS out to AWS APIs and registries"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "instances_from_load_balancer" {
  security_group_id            = aws_security_group.instances.id
  description                  = "Collector port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.load_balancer.id
}

resource "aws_vpc_security_group_egress_rule" "instances_https" {
  security_group_id = aws_security_group.instances.id
  description       = "HTTPS to Kinesis, CloudWatch, SSM, package repositories and the container registry"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- IAM: write the raw streams, ship logs and metrics, be reachable through Session Manager ---

resource "aws_iam_role" "this" {
  name        = var.name
  description = "Snowplow collector instances"
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
    Statement = [
      {
        Sid      = "WriteRawStreams"
        Effect   = "Allow"
        Action   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"]
        Resource = [var.raw_good_stream_arn, var.raw_bad_stream_arn]
      },
      {
        Sid       = "EncryptRawStreams"
        Effect    = "Allow"
        Action    = ["kms:GenerateDataKey"]
        Resource  = [var.streams_kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = "kinesis.${data.aws_region.current.name}.amazonaws.com" } }
      },
      {
        Sid      = "WriteContainerLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
      },
      {
        Sid       = "PublishInstanceMetrics"
        Effect    = "Allow"
        Action    = ["cloudwatch:PutMetricData"]
        Resource  = ["*"]
        Condition = { StringEquals = { "cloudwatch:namespace" = var.metrics_namespace } }
      },
    ]
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
  description            = "Scala Stream Collector on Amazon Linux 2023 (${local.architecture})"
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
      error_message = "The collector's user data compresses to about ${floor(length(local.user_data_base64) * 3 / 4)} bytes, over EC2's 16 KB limit: the configuration it carries is too large."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name                      = var.name
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.min_size
  max_size                  = var.max_size
  desired_capacity          = var.desired_capacity
  health_check_type         = "ELB"
  health_check_grace_period = var.instance_warmup_seconds
  default_instance_warmup   = var.instance_warmup_seconds
  target_group_arns         = [aws_lb_target_group.this.arn]
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
  # refresh whose new instances fail their health checks rolls back.
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

  # Instances must boot with their permissions in place.
  depends_on = [aws_iam_role_policy.this, aws_iam_role_policy_attachment.session_manager]

  lifecycle {
    precondition {
      condition     = var.min_size <= var.max_size && (var.desired_capacity == null ? true : var.desired_capacity >= var.min_size && var.desired_capacity <= var.max_size)
      error_message = "The collector group needs min_size <= desired_capacity <= max_size (desired_capacity may be null); got min ${var.min_size}, desired ${coalesce(var.desired_capacity, "null")}, max ${var.max_size}."
    }
  }
}

# --- Scaling: whichever policy asks for more instances wins ---

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

resource "aws_autoscaling_policy" "requests" {
  name                   = "${var.name}-requests"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.requests_per_target_per_minute

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.this.arn_suffix}"
    }
  }

  # The metric exists only once a listener routes to the target group.
  depends_on = [aws_lb_listener.https]
}
