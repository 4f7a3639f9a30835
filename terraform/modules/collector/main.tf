data "aws_region" "current" {}

locals {
  config_sha256 = sha256(var.config)

  # The collector's own boot steps, which run after the fleet's common ones (ec2-fleet).
  boot_script = templatefile("${path.module}/templates/app.sh.tftpl", {
    config_base64 = base64encode(var.config)
    config_sha256 = local.config_sha256
    port          = var.port
  })

  # Write the raw streams; the fleet adds logs, metrics, Session Manager and reporting a failed boot.
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
    ]
  })
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
  # A generated name (the prefix and 26 unique characters, within the 32 AWS allows), so that any
  # replacement (port, protocol, VPC, a taint) creates the new group before the old one goes
  # without colliding on a name.
  name_prefix          = var.target_group_name_prefix
  port                 = var.port
  protocol             = "HTTP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # /sink-health answers 200 only while the collector can write to its Kinesis sinks (/health
  # answers 200 whenever the process runs). A failing instance stops receiving events instead of
  # buffering them in memory; when every target fails (one Kinesis or KMS incident), the load
  # balancer fails open and keeps routing to all of them. The fleet uses EC2 health checks, so a
  # sink incident never terminates instances; the collector-unhealthy-hosts alarm says it.
  health_check {
    enabled             = true
    path                = "/sink-health"
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

# --- Security groups: the load balancer admits the allowlist; the fleet's instances admit only it ---

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
  referenced_security_group_id = module.fleet.security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "instances_from_load_balancer" {
  security_group_id            = module.fleet.security_group_id
  description                  = "Collector port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.load_balancer.id
}

# --- The instances: hardened EC2 fleet registered with the target group, with EC2 health checks
# (see the target group's health check) ---

module "fleet" {
  source = "../ec2-fleet"

  name              = var.name
  description       = "Scala Stream Collector"
  vpc_id            = var.vpc_id
  subnet_ids        = var.private_subnet_ids
  image             = var.image
  boot_script       = local.boot_script
  config_sha256     = local.config_sha256
  policy_json       = local.policy
  health_check_type = "EC2"
  target_group_arns = [aws_lb_target_group.this.arn]
  logs_kms_key_arn  = var.logs_kms_key_arn
  settings          = var.fleet

  # The instances launch once the load balancer can reach them; otherwise they register, fail the
  # health check and wait for a rule that Terraform creates later.
  launch_after = [
    aws_vpc_security_group_ingress_rule.instances_from_load_balancer.id,
    aws_vpc_security_group_egress_rule.load_balancer_to_instances.id,
  ]
}

# --- Scaling on requests per target; the fleet scales on CPU, and whichever asks for more wins ---

resource "aws_autoscaling_policy" "requests" {
  name                   = "${var.name}-requests"
  autoscaling_group_name = module.fleet.autoscaling_group.name
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
