# Offline tests of the collector module: a mocked AWS provider, so they assert what the module asks
# AWS for, not what AWS does with it.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_default_tags" {
    defaults = { tags = { project = "snowplow", environment = "test" } }
  }

  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "ami-0123456789abcdef0" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:/snowplow/snowplow-collector" }
  }

  mock_resource "aws_autoscaling_group" {
    defaults = { arn = "arn:aws:autoscaling:us-east-1:111122223333:autoScalingGroup:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:autoScalingGroupName/snowplow-collector" }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/snowplow-collector/50dc6c495c0c9188"
      arn_suffix = "app/snowplow-collector/50dc6c495c0c9188"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/snowplow-collector-8080/73e2d6bc24d8a067"
      arn_suffix = "targetgroup/snowplow-collector-8080/73e2d6bc24d8a067"
    }
  }

  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }

  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::111122223333:instance-profile/snowplow-collector" }
  }
}

variables {
  vpc_id                     = "vpc-0123456789abcdef0"
  public_subnet_ids          = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  private_subnet_ids         = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  certificate_arn            = "arn:aws:acm:us-east-1:111122223333:certificate/12345678-90ab-cdef-1234-567890abcdef"
  ingress_cidr_blocks        = ["198.51.100.0/24", "203.0.113.0/24"]
  access_logs_bucket_name    = "example-access-logs"
  port                       = 8080
  image                      = "snowplow/scala-stream-collector-kinesis:3.2.0"
  config                     = "collector { interface = \"0.0.0.0\", port = 8080 }"
  accept_limited_use_license = true
  raw_good_stream_arn        = "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-raw-good"
  raw_bad_stream_arn         = "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-raw-bad"
  streams_kms_key_arn        = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  logs_kms_key_arn           = "arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000"
}

run "launch_template_requires_imdsv2_and_encrypts_the_root_volume" {
  command = apply

  assert {
    condition = alltrue([
      for specification in aws_launch_template.this.tag_specifications :
      specification.tags.project == "snowplow" && specification.tags.environment == "test" && specification.tags.Name == var.name
    ])
    error_message = "Instances and volumes must carry the provider's default tags (which the group does not propagate) and the module's name."
  }

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv1 must be off: http_tokens must be required."
  }

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_endpoint == "enabled" && aws_launch_template.this.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "IMDS must stay reachable from the host-network containers (hop limit 1) and from nothing further."
  }

  assert {
    condition = alltrue([
      aws_launch_template.this.block_device_mappings[0].device_name == "/dev/xvda",
      aws_launch_template.this.block_device_mappings[0].ebs[0].volume_type == "gp3",
      tobool(aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted),
    ])
    error_message = "The root volume must be an encrypted gp3 volume."
  }

  assert {
    condition     = tobool(aws_launch_template.this.network_interfaces[0].associate_public_ip_address) == false && aws_launch_template.this.key_name == null
    error_message = "Instances get no public address and no SSH key pair (access is through Session Manager)."
  }

  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" && aws_launch_template.this.image_id == "ami-0123456789abcdef0"
    error_message = "The image must be Amazon Linux 2023 from AWS's public SSM parameter."
  }

  assert {
    condition     = aws_launch_template.this.iam_instance_profile[0].arn == aws_iam_instance_profile.this.arn
    error_message = "Instances must run with the module's instance profile."
  }

  assert {
    condition     = contains([for attachment in [aws_iam_role_policy_attachment.session_manager] : attachment.policy_arn], "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    error_message = "The role must carry AmazonSSMManagedInstanceCore for Session Manager access."
  }
}

run "graviton_instance_types_get_the_arm64_image" {
  command = plan

  variables {
    instance_type = "c7g.large"
  }

  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    error_message = "A Graviton instance type must get the arm64 image."
  }
}

run "burstable_instance_types_are_refused" {
  command = plan

  variables {
    instance_type = "t3.large"
  }

  expect_failures = [var.instance_type]
}

run "http_answers_with_a_permanent_redirect_to_https" {
  command = plan

  assert {
    condition = alltrue([
      aws_lb_listener.http.port == 80,
      aws_lb_listener.http.protocol == "HTTP",
      aws_lb_listener.http.default_action[0].type == "redirect",
      aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301",
      aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS",
      aws_lb_listener.http.default_action[0].redirect[0].port == "443",
    ])
    error_message = "Port 80 must answer every request with a 301 redirect to HTTPS on 443."
  }

  assert {
    condition = alltrue([
      aws_lb_listener.https.port == 443,
      aws_lb_listener.https.protocol == "HTTPS",
      aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06",
      aws_lb_listener.https.certificate_arn == var.certificate_arn,
      aws_lb_listener.https.default_action[0].type == "forward",
    ])
    error_message = "Port 443 must terminate TLS 1.2+ with the given certificate and forward to the collectors."
  }
}

run "tls_policies_that_allow_tls_1_0_are_refused" {
  command = plan

  variables {
    ssl_policy = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}

run "load_balancer_drops_invalid_headers_and_logs_access" {
  command = plan

  assert {
    condition = alltrue([
      aws_lb.this.internal == false,
      aws_lb.this.load_balancer_type == "application",
      aws_lb.this.drop_invalid_header_fields,
      aws_lb.this.enable_deletion_protection,
      toset(aws_lb.this.subnets) == toset(var.public_subnet_ids),
    ])
    error_message = "The load balancer must be internet-facing in the public subnets, drop invalid headers and be protected from deletion by default."
  }

  assert {
    condition = alltrue([
      aws_lb.this.access_logs[0].enabled,
      aws_lb.this.access_logs[0].bucket == "example-access-logs",
      aws_lb.this.access_logs[0].prefix == "collector-alb",
    ])
    error_message = "Access logs must go to the access logs bucket under collector-alb/."
  }
}

run "deletion_protection_can_be_turned_off_for_throwaway_environments" {
  command = plan

  variables {
    deletion_protection = false
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == false
    error_message = "deletion_protection = false must reach the load balancer."
  }
}

run "target_group_checks_health_on_the_collector_port" {
  command = plan

  assert {
    condition = alltrue([
      aws_lb_target_group.this.port == 8080,
      aws_lb_target_group.this.protocol == "HTTP",
      aws_lb_target_group.this.health_check[0].path == "/health",
      aws_lb_target_group.this.health_check[0].port == "traffic-port",
      aws_lb_target_group.this.health_check[0].matcher == "200",
    ])
    error_message = "The target group must send traffic and GET /health to the collector port."
  }
}

run "security_groups_admit_the_allowlist_then_only_the_load_balancer" {
  command = apply

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.load_balancer : "${rule.from_port}-${rule.to_port} ${rule.cidr_ipv4}"]) == toset([
      "80-80 198.51.100.0/24", "443-443 198.51.100.0/24", "80-80 203.0.113.0/24", "443-443 203.0.113.0/24",
    ])
    error_message = "The load balancer must admit ports 80 and 443 from each allowlisted CIDR block and nothing else."
  }

  assert {
    condition = alltrue([
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.referenced_security_group_id == aws_security_group.load_balancer.id,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.from_port == 8080,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.to_port == 8080,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.cidr_ipv4 == null,
    ])
    error_message = "Instances must admit only the load balancer's security group, on the collector port."
  }

  assert {
    condition     = aws_launch_template.this.network_interfaces[0].security_groups == toset([aws_security_group.instances.id])
    error_message = "Instances must be in the instances security group only."
  }
}

run "group_spreads_over_private_subnets_and_uses_load_balancer_health" {
  command = apply

  assert {
    condition = alltrue([
      toset(aws_autoscaling_group.this.vpc_zone_identifier) == toset(var.private_subnet_ids),
      aws_autoscaling_group.this.health_check_type == "ELB",
      aws_autoscaling_group.this.target_group_arns == toset([aws_lb_target_group.this.arn]),
      aws_autoscaling_group.this.min_size == 2,
      aws_autoscaling_group.this.max_size == 8,
    ])
    error_message = "The group must run in the private subnets, register with the target group and replace instances the load balancer finds unhealthy."
  }
}

run "scaling_tracks_cpu_and_requests_per_target" {
  command = apply

  assert {
    condition = alltrue([
      aws_autoscaling_policy.cpu.policy_type == "TargetTrackingScaling",
      aws_autoscaling_policy.cpu.target_tracking_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ASGAverageCPUUtilization",
      aws_autoscaling_policy.cpu.target_tracking_configuration[0].target_value == 60,
      aws_autoscaling_policy.cpu.autoscaling_group_name == aws_autoscaling_group.this.name,
    ])
    error_message = "A target-tracking policy must keep average CPU at 60%."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_policy.requests.policy_type == "TargetTrackingScaling",
      aws_autoscaling_policy.requests.target_tracking_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ALBRequestCountPerTarget",
      aws_autoscaling_policy.requests.target_tracking_configuration[0].predefined_metric_specification[0].resource_label == "app/snowplow-collector/50dc6c495c0c9188/targetgroup/snowplow-collector-8080/73e2d6bc24d8a067",
      aws_autoscaling_policy.requests.target_tracking_configuration[0].target_value == 30000,
      aws_autoscaling_policy.requests.autoscaling_group_name == aws_autoscaling_group.this.name,
    ])
    error_message = "A target-tracking policy must follow ALBRequestCountPerTarget of this load balancer's target group."
  }
}

run "iam_writes_only_the_raw_streams" {
  command = apply

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement :
      toset(statement.Resource) == toset([var.raw_good_stream_arn, var.raw_bad_stream_arn])
      if anytrue([for action in statement.Action : startswith(action, "kinesis:")])
    ])
    error_message = "Every Kinesis permission must name exactly the raw-good and raw-bad streams."
  }

  assert {
    condition = toset(one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement.Action
      if statement.Sid == "WriteRawStreams"
    ])) == toset(["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"])
    error_message = "The collector may put records and describe its streams, nothing more."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement
      if anytrue([for action in statement.Action : startswith(action, "kms:")])
      ]) == {
      Sid       = "EncryptRawStreams"
      Effect    = "Allow"
      Action    = ["kms:GenerateDataKey"]
      Resource  = [var.streams_kms_key_arn]
      Condition = { StringEquals = { "kms:ViaService" = "kinesis.us-east-1.amazonaws.com" } }
    }
    error_message = "KMS use must be GenerateDataKey on the streams key, through Kinesis only."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement :
      !anytrue([for action in statement.Action : strcontains(action, "*")])
    ])
    error_message = "No action may be a wildcard."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement.Resource
      if statement.Sid == "WriteContainerLogs"
    ]) == ["arn:aws:logs:us-east-1:111122223333:log-group:/snowplow/snowplow-collector:*"]
    error_message = "Logs may be written only to the collector's log group."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement.Condition
      if statement.Sid == "PublishInstanceMetrics"
    ]) == { StringEquals = { "cloudwatch:namespace" = "Snowplow/EC2" } }
    error_message = "Metrics may be published only into the module's namespace."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.report_failed_boot.policy).Statement[0].Resource == [aws_autoscaling_group.this.arn]
    error_message = "An instance may only report its own group's instances unhealthy."
  }
}

run "user_data_writes_the_config_and_runs_the_pinned_image" {
  command = apply

  assert {
    condition     = aws_launch_template.this.user_data == base64gzip(local.user_data)
    error_message = "The launch template must carry the rendered boot script, gzip-compressed."
  }

  assert {
    condition = alltrue([
      startswith(local.user_data, "#!/bin/bash\n"),
      strcontains(local.user_data, "\n${base64encode(var.config)}\n"),
      strcontains(local.user_data, "readonly image='snowplow/scala-stream-collector-kinesis:3.2.0'"),
      strcontains(local.user_data, "--log-opt 'awslogs-group=/snowplow/snowplow-collector'"),
      strcontains(local.user_data, "\"$image\" --config /snowplow/config/collector.hocon"),
    ])
    error_message = "The user data must write the given config and run the given image with its logs in the module's log group."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == var.logs_kms_key_arn && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The log group must be encrypted with the logs key and keep logs for a year by default."
  }
}

run "baseline_config" {
  command = apply
}

run "a_config_change_rolls_the_fleet" {
  command = apply

  variables {
    config = "collector { interface = \"0.0.0.0\", port = 8080, paths { \"/com.acme/track\" = \"/com.snowplowanalytics.snowplow/tp2\" } }"
  }

  assert {
    condition     = output.config_sha256 != run.baseline_config.config_sha256 && aws_launch_template.this.tag_specifications[0].tags.config_sha256 == sha256(var.config)
    error_message = "A new configuration must change the config_sha256 the launch template gives its instances, i.e. make a new launch template version."
  }

  assert {
    condition     = aws_autoscaling_group.this.launch_template[0].id == aws_launch_template.this.id && aws_autoscaling_group.this.launch_template[0].version == tostring(aws_launch_template.this.latest_version)
    error_message = "The group must follow the launch template's latest version, so that a new version starts an instance refresh."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.this.instance_refresh[0].strategy == "Rolling",
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 90,
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].auto_rollback,
    ])
    error_message = "Instance refresh must roll with at least 90% of the capacity healthy and roll back on failure."
  }
}

run "desired_capacity_outside_min_and_max_is_refused" {
  command = plan

  variables {
    desired_capacity = 9
  }

  expect_failures = [aws_autoscaling_group.this]
}
