# Offline tests of the collector module: a mocked AWS provider, so they assert what the module asks
# AWS for, not what AWS does with it.

mock_provider "aws" {
  source = "../../testing/aws-mocks"

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

run "target_group_checks_the_kinesis_sink_on_the_collector_port" {
  command = plan

  # /health answers 200 whenever the collector runs; only /sink-health reflects its Kinesis sink.
  assert {
    condition = alltrue([
      aws_lb_target_group.this.port == 8080,
      aws_lb_target_group.this.protocol == "HTTP",
      aws_lb_target_group.this.health_check[0].path == "/sink-health",
      aws_lb_target_group.this.health_check[0].port == "traffic-port",
      aws_lb_target_group.this.health_check[0].matcher == "200",
    ])
    error_message = "The target group must send traffic and GET /sink-health to the collector port, so that an instance whose Kinesis sink fails stops receiving events."
  }
}

run "target_group_has_a_generated_name_so_any_replacement_can_create_first" {
  command = plan

  assert {
    condition     = aws_lb_target_group.this.name_prefix == "spcol-"
    error_message = "The target group (create_before_destroy) must take a generated name from name_prefix, not a fixed one that its replacement would collide with."
  }
}

run "a_target_group_name_prefix_over_six_characters_is_refused" {
  command = plan

  variables {
    target_group_name_prefix = "collector-"
  }

  expect_failures = [var.target_group_name_prefix]
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
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.security_group_id == module.fleet.security_group_id,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.referenced_security_group_id == aws_security_group.load_balancer.id,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.from_port == 8080,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.to_port == 8080,
      aws_vpc_security_group_ingress_rule.instances_from_load_balancer.cidr_ipv4 == null,
    ])
    error_message = "The instances' security group must admit only the load balancer's security group, on the collector port."
  }

  assert {
    condition = alltrue([
      aws_vpc_security_group_egress_rule.load_balancer_to_instances.referenced_security_group_id == module.fleet.security_group_id,
      aws_vpc_security_group_egress_rule.load_balancer_to_instances.from_port == 8080,
      aws_vpc_security_group_egress_rule.load_balancer_to_instances.to_port == 8080,
    ])
    error_message = "The load balancer may reach only the instances, on the collector port."
  }

  assert {
    condition     = output.security_group_ids == { load_balancer = aws_security_group.load_balancer.id, instances = module.fleet.security_group_id }
    error_message = "security_group_ids must name the load balancer's group and the fleet's."
  }
}

run "group_spreads_over_private_subnets_and_keeps_instances_through_a_sink_incident" {
  command = apply

  assert {
    condition = alltrue([
      module.fleet.autoscaling_group.subnet_ids == toset(var.private_subnet_ids),
      module.fleet.autoscaling_group.health_check_type == "EC2",
      module.fleet.autoscaling_group.target_group_arns == toset([aws_lb_target_group.this.arn]),
      module.fleet.autoscaling_group.min_size == 2,
      module.fleet.autoscaling_group.max_size == 8,
      output.autoscaling_group_name == "snowplow-collector",
    ])
    error_message = "The group must run in the private subnets, register with the target group, judge instances by EC2 status (a failing /sink-health on every instance must not terminate the fleet), and run 2 to 8 instances by default."
  }
}

run "fleet_settings_reach_the_group" {
  command = apply

  variables {
    fleet = { min_size = 3, max_size = 12 }
  }

  assert {
    condition     = module.fleet.autoscaling_group.min_size == 3 && module.fleet.autoscaling_group.max_size == 12
    error_message = "The fleet input must reach the Auto Scaling group."
  }
}

run "scaling_tracks_requests_per_target" {
  command = apply

  assert {
    condition = alltrue([
      aws_autoscaling_policy.requests.policy_type == "TargetTrackingScaling",
      aws_autoscaling_policy.requests.target_tracking_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ALBRequestCountPerTarget",
      aws_autoscaling_policy.requests.target_tracking_configuration[0].predefined_metric_specification[0].resource_label == "app/snowplow-collector/50dc6c495c0c9188/targetgroup/snowplow-collector-8080/73e2d6bc24d8a067",
      aws_autoscaling_policy.requests.target_tracking_configuration[0].target_value == 30000,
      aws_autoscaling_policy.requests.autoscaling_group_name == module.fleet.autoscaling_group.name,
    ])
    error_message = "A target-tracking policy must follow ALBRequestCountPerTarget of this load balancer's target group."
  }
}

run "iam_writes_only_the_raw_streams" {
  command = apply

  assert {
    condition = alltrue([
      for statement in jsondecode(local.policy).Statement :
      toset(statement.Resource) == toset([var.raw_good_stream_arn, var.raw_bad_stream_arn])
      if anytrue([for action in statement.Action : startswith(action, "kinesis:")])
    ])
    error_message = "Every Kinesis permission must name exactly the raw-good and raw-bad streams."
  }

  assert {
    condition = toset(one([
      for statement in jsondecode(local.policy).Statement : statement.Action
      if statement.Sid == "WriteRawStreams"
    ])) == toset(["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"])
    error_message = "The collector may put records and describe its streams, nothing more."
  }

  assert {
    condition = one([
      for statement in jsondecode(local.policy).Statement : statement
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
      for statement in jsondecode(local.policy).Statement :
      !anytrue([for action in statement.Action : strcontains(action, "*")])
    ])
    error_message = "No action may be a wildcard."
  }

  assert {
    condition     = output.role_name == "snowplow-collector"
    error_message = "The instances' role (ec2-fleet, which attaches this policy) must be named after the collector."
  }
}

run "user_data_writes_the_config_and_runs_the_pinned_image" {
  command = apply

  assert {
    condition     = startswith(module.fleet.user_data, "#!/bin/bash\n") && endswith(module.fleet.user_data, "\n${local.boot_script}")
    error_message = "The instances' boot script must end with the collector's steps."
  }

  assert {
    condition = alltrue([
      strcontains(local.boot_script, "\n${base64encode(var.config)}\n"),
      strcontains(module.fleet.user_data, "\nreadonly image='snowplow/scala-stream-collector-kinesis:3.2.0'\n"),
      strcontains(local.boot_script, "--log-opt \"awslogs-group=$log_group\""),
      strcontains(local.boot_script, "\"$image\" --config /snowplow/config/collector.hocon"),
      strcontains(local.boot_script, "\nretry curl --silent --fail --output /dev/null --max-time 5 \"http://127.0.0.1:8080/health\"\n"),
      output.log_group_name == "/snowplow/snowplow-collector",
    ])
    error_message = "The boot steps must write the given config, run the given image with its logs in the fleet's log group, /snowplow/NAME, and fail the boot unless the collector answers on its port."
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
    condition     = output.config_sha256 != run.baseline_config.config_sha256 && output.config_sha256 == sha256(var.config)
    error_message = "A new configuration must change the config_sha256 the launch template gives its instances, i.e. make a new launch template version (which ec2-fleet's instance refresh rolls out)."
  }
}
