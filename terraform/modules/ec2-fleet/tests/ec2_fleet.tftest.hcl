# Offline tests of the ec2-fleet module: a mocked AWS provider, so they assert what the module asks
# AWS for, not what AWS does with it. The data sources every module reads, and the fleet's launch
# template and instance profile, come from the shared mock files; the values below are the ones
# these assertions name.

mock_provider "aws" {
  source = "../../testing/aws-mocks"

  mock_data "aws_default_tags" {
    defaults = { tags = { project = "snowplow", environment = "test" } }
  }

  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "ami-0123456789abcdef0" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:/snowplow/snowplow-example" }
  }

  mock_resource "aws_autoscaling_group" {
    defaults = { arn = "arn:aws:autoscaling:us-east-1:111122223333:autoScalingGroup:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:autoScalingGroupName/snowplow-example" }
  }
}

variables {
  name          = "snowplow-example"
  description   = "Example app"
  image         = "example/app:1.0"
  boot_script   = "docker run --detach --log-driver awslogs --log-opt \"awslogs-group=$log_group\" \"$image\"\n"
  config_sha256 = "0000000000000000000000000000000000000000000000000000000000000001"
  policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ReadExampleStream"
      Effect   = "Allow"
      Action   = ["kinesis:GetRecords"]
      Resource = ["arn:aws:kinesis:us-east-1:111122223333:stream/example"]
    }]
  })
  vpc_id            = "vpc-0123456789abcdef0"
  subnet_ids        = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  health_check_type = "ELB"
  target_group_arns = ["arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/snowplow-example-8080/73e2d6bc24d8a067"]
  logs_kms_key_arn  = "arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000"
  settings          = { max_size = 8 }
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
      aws_launch_template.this.block_device_mappings[0].ebs[0].volume_size == 20,
      tobool(aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted),
    ])
    error_message = "The root volume must be an encrypted gp3 volume, 20 GiB by default."
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
    condition     = aws_launch_template.this.instance_type == "c6i.large" && aws_launch_template.this.description == "Example app on Amazon Linux 2023 (x86_64)"
    error_message = "The default instance type is c6i.large, and the description names the app and the architecture."
  }

  assert {
    condition     = aws_launch_template.this.iam_instance_profile[0].arn == aws_iam_instance_profile.this.arn && aws_iam_instance_profile.this.role == aws_iam_role.this.name
    error_message = "Instances must run with the module's instance profile, which holds the module's role."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.session_manager.policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "The role must carry AmazonSSMManagedInstanceCore for Session Manager access."
  }

  assert {
    condition     = aws_launch_template.this.network_interfaces[0].security_groups == toset([aws_security_group.this.id])
    error_message = "Instances must be in the fleet's security group only."
  }
}

run "graviton_instance_types_get_the_arm64_image" {
  command = plan

  variables {
    settings = { max_size = 8, instance_type = "c7g.large" }
  }

  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    error_message = "A Graviton instance type must get the arm64 image."
  }
}

run "an_image_without_a_version_tag_is_refused" {
  command = plan

  variables {
    image = "example/app:latest"
  }

  expect_failures = [var.image]
}

run "burstable_instance_types_are_refused" {
  command = plan

  variables {
    settings = { max_size = 8, instance_type = "t3.large" }
  }

  expect_failures = [var.settings]
}

run "graviton_burstable_instance_types_are_refused_too" {
  command = plan

  variables {
    settings = { max_size = 8, instance_type = "t4g.xlarge" }
  }

  expect_failures = [var.settings]
}

run "instances_reach_out_over_https_only" {
  command = apply

  assert {
    condition = alltrue([
      aws_security_group.this.vpc_id == var.vpc_id,
      aws_security_group.this.name == "snowplow-example-instances",
      aws_vpc_security_group_egress_rule.https.security_group_id == aws_security_group.this.id,
      aws_vpc_security_group_egress_rule.https.ip_protocol == "tcp",
      aws_vpc_security_group_egress_rule.https.from_port == 443,
      aws_vpc_security_group_egress_rule.https.to_port == 443,
      aws_vpc_security_group_egress_rule.https.cidr_ipv4 == "0.0.0.0/0",
      output.security_group_id == aws_security_group.this.id,
    ])
    error_message = "The instances' security group must allow HTTPS out and nothing else of its own."
  }
}

run "security_group_descriptions_use_only_what_ec2_accepts" {
  command = plan

  variables {
    additional_egress = {
      sql = { description = "PostgreSQL of the SQL enrichment (10.20.0.0/16)", port = 5432, cidr_ipv4 = "10.20.0.0/16" }
    }
  }

  # EC2's character set for security group and rule descriptions (AuthorizeSecurityGroupEgress,
  # IpRange.Description; CreateSecurityGroup, GroupDescription): a-zA-Z0-9, spaces and
  # ._-:/()#,@[]+=&;{}!$*, at most 255 characters. The emulator accepts anything.
  assert {
    condition = alltrue([
      for description in concat(
        [aws_security_group.this.description, aws_vpc_security_group_egress_rule.https.description],
        [for rule in aws_vpc_security_group_egress_rule.additional : rule.description],
      ) : can(regex("^[a-zA-Z0-9. _:/()#,@\\[\\]+=&;{}!$*-]{1,255}$", description))
    ])
    error_message = "A security group or rule description has a character EC2 refuses (only letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* are allowed): the apply would fail."
  }
}

run "additional_egress_opens_exactly_the_reviewed_ports" {
  command = apply

  variables {
    additional_egress = {
      sql = { description = "PostgreSQL of the SQL enrichment", port = 5432, cidr_ipv4 = "10.20.0.0/16" }
    }
  }

  assert {
    condition = alltrue([
      length(aws_vpc_security_group_egress_rule.additional) == 1,
      aws_vpc_security_group_egress_rule.additional["sql"].security_group_id == aws_security_group.this.id,
      aws_vpc_security_group_egress_rule.additional["sql"].ip_protocol == "tcp",
      aws_vpc_security_group_egress_rule.additional["sql"].from_port == 5432,
      aws_vpc_security_group_egress_rule.additional["sql"].to_port == 5432,
      aws_vpc_security_group_egress_rule.additional["sql"].cidr_ipv4 == "10.20.0.0/16",
    ])
    error_message = "Each additional_egress entry must become one TCP egress rule to its port and CIDR block only."
  }
}

run "an_egress_description_ec2_refuses_is_refused_at_plan_time" {
  command = plan

  variables {
    additional_egress = {
      sql = { description = "The enrichment's database", port = 5432, cidr_ipv4 = "10.20.0.0/16" }
    }
  }

  expect_failures = [var.additional_egress]
}

run "an_egress_rule_without_a_valid_cidr_is_refused" {
  command = plan

  variables {
    additional_egress = {
      sql = { description = "Database", port = 5432, cidr_ipv4 = "anywhere" }
    }
  }

  expect_failures = [var.additional_egress]
}

run "group_spreads_over_the_subnets_with_the_given_health_check" {
  command = apply

  assert {
    condition = alltrue([
      toset(aws_autoscaling_group.this.vpc_zone_identifier) == toset(var.subnet_ids),
      aws_autoscaling_group.this.health_check_type == "ELB",
      aws_autoscaling_group.this.target_group_arns == toset(var.target_group_arns),
      aws_autoscaling_group.this.min_size == 2,
      aws_autoscaling_group.this.max_size == 8,
      aws_autoscaling_group.this.health_check_grace_period == 300,
      aws_autoscaling_group.this.default_instance_warmup == 300,
    ])
    error_message = "The group must run in the given subnets with the given health check and target groups, between 2 and 8 instances by default, with a 300 s warm-up."
  }

  assert {
    condition = output.autoscaling_group == {
      name              = "snowplow-example"
      arn               = aws_autoscaling_group.this.arn
      subnet_ids        = toset(var.subnet_ids)
      health_check_type = "ELB"
      target_group_arns = toset(var.target_group_arns)
      min_size          = 2
      max_size          = 8
    }
    error_message = "The autoscaling_group output must describe the group as created."
  }
}

run "a_fleet_behind_no_load_balancer_uses_ec2_health_checks" {
  command = apply

  variables {
    health_check_type = "EC2"
    target_group_arns = []
  }

  assert {
    condition     = aws_autoscaling_group.this.health_check_type == "EC2" && length(aws_autoscaling_group.this.target_group_arns) == 0
    error_message = "The group must use EC2 health checks and no load balancer."
  }
}

run "elb_health_checks_without_a_target_group_are_refused" {
  command = plan

  variables {
    target_group_arns = []
  }

  expect_failures = [aws_autoscaling_group.this]
}

run "scaling_tracks_cpu" {
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
}

run "iam_attaches_the_app_policy_and_scopes_its_own" {
  command = apply

  assert {
    condition     = aws_iam_role_policy.app.policy == var.policy_json && aws_iam_role_policy.app.role == aws_iam_role.this.id && aws_iam_role_policy.app.name == var.name
    error_message = "The app's policy must be the role's inline policy NAME, exactly as given."
  }

  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
    }]
    error_message = "Only EC2 may assume the instance role."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.logs_and_metrics.policy).Statement : statement.Resource
      if statement.Sid == "WriteContainerLogs"
    ]) == ["arn:aws:logs:us-east-1:111122223333:log-group:/snowplow/snowplow-example:*"]
    error_message = "Logs may be written only to the module's log group."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.logs_and_metrics.policy).Statement : statement.Condition
      if statement.Sid == "PublishInstanceMetrics"
    ]) == { StringEquals = { "cloudwatch:namespace" = "Snowplow/EC2" } }
    error_message = "Metrics may be published only into the agent's namespace."
  }

  assert {
    condition = alltrue([
      for statement in concat(jsondecode(aws_iam_role_policy.logs_and_metrics.policy).Statement, jsondecode(aws_iam_role_policy.report_failed_boot.policy).Statement) :
      !anytrue([for action in statement.Action : strcontains(action, "*")])
    ])
    error_message = "No action may be a wildcard."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.report_failed_boot.policy).Statement[0].Resource == [aws_autoscaling_group.this.arn]
    error_message = "An instance may only report its own group's instances unhealthy."
  }
}

run "user_data_runs_the_common_steps_then_the_app_script" {
  command = apply

  assert {
    condition     = aws_launch_template.this.user_data == base64gzip(local.user_data) && output.user_data == local.user_data
    error_message = "The launch template must carry the rendered boot script, gzip-compressed."
  }

  assert {
    condition = alltrue([
      startswith(local.user_data, "#!/bin/bash\n"),
      strcontains(local.user_data, "\nset -Eeuo pipefail\n"),
      strcontains(local.user_data, "\nreadonly region='us-east-1'\n"),
      strcontains(local.user_data, "\nreadonly log_group='/snowplow/snowplow-example'\n"),
      strcontains(local.user_data, "\ntrap 'report_failure $LINENO' ERR\n"),
      strcontains(local.user_data, "--health-status Unhealthy"),
      strcontains(local.user_data, "\nretry dnf install --assumeyes --quiet docker amazon-cloudwatch-agent\n"),
      strcontains(local.user_data, "\nreadonly image='example/app:1.0'\n"),
      strcontains(local.user_data, "\nretry docker pull --quiet \"$image\"\n"),
      endswith(local.user_data, "\n# --- Example app ---\n${var.boot_script}"),
    ])
    error_message = "The user data must define the common boot steps, then end with the app's script."
  }

  assert {
    condition = jsondecode(local.cloudwatch_agent_config).metrics == {
      namespace              = "Snowplow/EC2"
      append_dimensions      = { InstanceId = "$${aws:InstanceId}" }
      aggregation_dimensions = [["AutoScalingGroupName"]]
      metrics_collected = {
        mem  = { measurement = ["mem_used_percent"], append_dimensions = { AutoScalingGroupName = "snowplow-example" } }
        disk = { measurement = ["used_percent"], resources = ["/"], drop_device = true, append_dimensions = { AutoScalingGroupName = "snowplow-example" } }
      }
    } && strcontains(local.user_data, "\n${local.cloudwatch_agent_config}\n")
    error_message = "The CloudWatch agent must publish memory and root-disk use into the namespace, per instance and per group."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/snowplow/snowplow-example" && aws_cloudwatch_log_group.this.kms_key_id == var.logs_kms_key_arn && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The log group must be /snowplow/NAME, encrypted with the logs key, and keep logs for a year by default."
  }
}

run "baseline_config" {
  command = apply
}

run "a_config_change_rolls_the_fleet" {
  command = apply

  variables {
    config_sha256 = "0000000000000000000000000000000000000000000000000000000000000002"
  }

  assert {
    condition     = output.config_sha256 != run.baseline_config.config_sha256 && aws_launch_template.this.tag_specifications[0].tags.config_sha256 == var.config_sha256
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
    settings = { max_size = 8, desired_capacity = 9 }
  }

  expect_failures = [var.settings]
}

run "a_boot_script_over_ec2s_user_data_limit_is_refused" {
  command = plan

  variables {
    # Hex digests compress to about half: far more than 16 KB even gzip-compressed.
    boot_script = join("\n", [for i in range(1000) : "echo ${sha256(tostring(i))}"])
  }

  expect_failures = [aws_launch_template.this]
}
