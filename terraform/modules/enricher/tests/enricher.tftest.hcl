# Offline tests of the enricher module: a mocked AWS provider, so they assert what the module asks
# AWS for, not what AWS does with it.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }

  mock_data "aws_default_tags" {
    defaults = { tags = { project = "snowplow", environment = "test" } }
  }

  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "ami-0123456789abcdef0" }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:111122223333:table/snowplow-enrich" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:/snowplow/snowplow-enricher" }
  }

  mock_resource "aws_autoscaling_group" {
    defaults = { arn = "arn:aws:autoscaling:us-east-1:111122223333:autoScalingGroup:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:autoScalingGroupName/snowplow-enricher" }
  }

  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }

  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::111122223333:instance-profile/snowplow-enricher" }
  }
}

variables {
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnet_ids         = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  app_name                   = "snowplow-enrich"
  image                      = "snowplow/snowplow-enrich-kinesis:5.1.2"
  config                     = "{\n  \"input\": {\n    \"streamName\": \"snowplow-raw-good\"\n    \"appName\": \"snowplow-enrich\"\n  }\n}\n"
  iglu_resolver              = "{\"schema\": \"iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3\", \"data\": {}}"
  enrichments                = { ua_parser = "{\"schema\": \"ua\"}", referer_parser = "{\"schema\": \"referer\"}" }
  accept_limited_use_license = true
  raw_good_stream_arn        = "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-raw-good"
  enriched_good_stream_arn   = "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-enriched-good"
  enriched_bad_stream_arn    = "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-enriched-bad"
  streams_kms_key_arn        = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  lease_table_kms_key_arn    = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  logs_kms_key_arn           = "arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000"
  # The runs that apply must be able to tear down; "lease_table_is_guarded..." plans with the guard.
  prevent_destroy = false
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
    condition     = aws_launch_template.this.metadata_options[0].http_tokens == "required" && aws_launch_template.this.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "IMDSv1 must be off (http_tokens required) and IMDS no further than the host-network container."
  }

  assert {
    condition = alltrue([
      aws_launch_template.this.block_device_mappings[0].ebs[0].volume_type == "gp3",
      tobool(aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted),
      tobool(aws_launch_template.this.network_interfaces[0].associate_public_ip_address) == false,
      aws_launch_template.this.key_name == null,
      aws_launch_template.this.iam_instance_profile[0].arn == aws_iam_instance_profile.this.arn,
      aws_iam_role_policy_attachment.session_manager.policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ])
    error_message = "Same hardening as the collector: encrypted gp3 root, no public address, no key pair, Session Manager access."
  }

  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    error_message = "The image must be Amazon Linux 2023 from AWS's public SSM parameter."
  }

  assert {
    condition     = aws_launch_template.this.network_interfaces[0].security_groups == toset([aws_security_group.instances.id])
    error_message = "Instances must be in the enricher security group only; it has no inbound rule at all."
  }
}

run "burstable_instance_types_are_refused" {
  command = plan

  variables {
    instance_type = "t4g.xlarge"
  }

  expect_failures = [var.instance_type]
}

run "lease_table_is_named_by_the_app_name_on_demand_recoverable_encrypted_and_guarded" {
  command = plan

  variables {
    prevent_destroy = true
  }

  assert {
    condition = alltrue([
      aws_dynamodb_table.leases.name == "snowplow-enrich",
      aws_dynamodb_table.leases.billing_mode == "PAY_PER_REQUEST",
      aws_dynamodb_table.leases.hash_key == "leaseKey",
      aws_dynamodb_table.leases.point_in_time_recovery[0].enabled,
      aws_dynamodb_table.leases.server_side_encryption[0].enabled,
      aws_dynamodb_table.leases.server_side_encryption[0].kms_key_arn == var.lease_table_kms_key_arn,
      aws_dynamodb_table.leases.deletion_protection_enabled,
      length(terraform_data.prevent_destroy) == 1,
    ])
    error_message = "The lease table must be the KCL app name, on demand, with PITR, SSE under the given key, deletion protection and the prevent_destroy guard."
  }
}

run "a_throwaway_environment_can_drop_the_lease_table" {
  command = plan

  assert {
    condition     = !aws_dynamodb_table.leases.deletion_protection_enabled && length(terraform_data.prevent_destroy) == 0
    error_message = "prevent_destroy = false must leave the lease table deletable."
  }
}

run "a_config_whose_app_name_is_not_the_lease_table_is_refused" {
  command = plan

  variables {
    config = "{ \"input\": { \"appName\": \"another-app\" } }"
  }

  expect_failures = [aws_dynamodb_table.leases]
}

run "group_uses_ec2_health_checks_and_scales_on_cpu" {
  command = apply

  assert {
    condition = alltrue([
      toset(aws_autoscaling_group.this.vpc_zone_identifier) == toset(var.private_subnet_ids),
      aws_autoscaling_group.this.health_check_type == "EC2",
      length(aws_autoscaling_group.this.target_group_arns) == 0,
    ])
    error_message = "The group must run in the private subnets with EC2 health checks and no load balancer."
  }

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

run "iam_reads_raw_good_and_writes_only_the_enriched_streams" {
  command = apply

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement
      if contains(statement.Action, "kinesis:GetRecords")
      ]) == {
      Sid      = "ReadRawGoodStream"
      Effect   = "Allow"
      Action   = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
      Resource = [var.raw_good_stream_arn]
    }
    error_message = "Reading must be allowed on raw-good only."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement
      if contains(statement.Action, "kinesis:PutRecords")
      ]) == {
      Sid      = "WriteEnrichedStreams"
      Effect   = "Allow"
      Action   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"]
      Resource = [var.enriched_good_stream_arn, var.enriched_bad_stream_arn]
    }
    error_message = "Writing must be allowed on enriched-good and enriched-bad only."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement :
      toset(statement.Resource) == toset([aws_dynamodb_table.leases.arn])
      if anytrue([for action in statement.Action : startswith(action, "dynamodb:")])
    ])
    error_message = "DynamoDB access must name the lease table only."
  }

  assert {
    condition = toset([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement :
      "${statement.Sid} ${join(",", statement.Action)} ${statement.Condition.StringEquals["kms:ViaService"]}"
      if anytrue([for action in statement.Action : startswith(action, "kms:")])
      ]) == toset([
      "UseStreamsKey kms:Decrypt,kms:GenerateDataKey kinesis.us-east-1.amazonaws.com",
      "UseLeaseTableKey kms:Decrypt,kms:Encrypt,kms:GenerateDataKey,kms:DescribeKey dynamodb.us-east-1.amazonaws.com",
    ])
    error_message = "KMS use must go through Kinesis (streams key) and DynamoDB (lease table key) only."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement.Condition
      if statement.Sid == "PublishMetrics"
    ]) == { StringEquals = { "cloudwatch:namespace" = ["snowplow-enrich", "Snowplow/EC2"] } }
    error_message = "Metrics may be published only under KCL's namespace (the app name) and the agent's."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement :
      !anytrue([for action in statement.Action : strcontains(action, "*") || startswith(action, "secretsmanager:") || startswith(action, "s3:")])
    ])
    error_message = "No wildcard actions, and no secret or S3 access when no Iglu API key or S3 asset is configured."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.report_failed_boot.policy).Statement[0].Resource == [aws_autoscaling_group.this.arn]
    error_message = "An instance may only report its own group's instances unhealthy."
  }
}

run "iglu_api_key_is_read_from_its_secret_at_boot" {
  command = apply

  variables {
    iglu_api_key = {
      secret_name = "snowplow/iglu-api-key"
      env_var     = "IGLU_API_KEY"
      kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    }
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement
      if statement.Sid == "ReadIgluApiKey"
      ]) == {
      Sid      = "ReadIgluApiKey"
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = ["arn:aws:secretsmanager:us-east-1:111122223333:secret:snowplow/iglu-api-key-??????"]
    }
    error_message = "The role may read exactly the Iglu API key secret."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement
      if statement.Sid == "DecryptIgluApiKey"
      ]) == {
      Sid       = "DecryptIgluApiKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt"]
      Resource  = ["arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]
      Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.us-east-1.amazonaws.com" } }
    }
    error_message = "The role may decrypt with the secrets key through Secrets Manager only."
  }

  assert {
    condition = alltrue([
      strcontains(local.user_data, "--secret-id 'snowplow/iglu-api-key'"),
      strcontains(local.user_data, "printf '%s=%s\\n' 'IGLU_API_KEY' \"$iglu_api_key\" >> \"$env_file\""),
      strcontains(local.user_data, "--env-file \"$env_file\""),
    ])
    error_message = "The boot script must fetch the key and hand it to the container through the env file."
  }
}

run "without_an_iglu_api_key_the_boot_script_reads_no_secret" {
  command = plan

  assert {
    condition     = !strcontains(local.user_data, "secretsmanager")
    error_message = "No secret may be read when no Iglu API key is configured."
  }
}

run "s3_enrichment_assets_are_readable_and_nothing_else_in_s3" {
  command = apply

  variables {
    s3_asset_uris = ["s3://example-enrichment-assets/maxmind/"]
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this.policy).Statement : statement
      if anytrue([for action in statement.Action : startswith(action, "s3:")])
      ]) == {
      Sid      = "ReadEnrichmentAssets"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["arn:aws:s3:::example-enrichment-assets/maxmind/*"]
    }
    error_message = "S3 access must be GetObject under the asset folders only."
  }
}

run "user_data_writes_every_config_file_and_runs_the_pinned_image" {
  command = apply

  assert {
    condition     = aws_launch_template.this.user_data == base64gzip(local.user_data)
    error_message = "The launch template must carry the rendered boot script, gzip-compressed."
  }

  assert {
    condition = alltrue([
      strcontains(local.user_data, "base64 --decode > \"$config_dir/enrich.hocon\" <<'CONFIG'\n${base64encode(var.config)}\nCONFIG\n"),
      strcontains(local.user_data, "base64 --decode > \"$config_dir/iglu_resolver.json\" <<'CONFIG'\n${base64encode(var.iglu_resolver)}\nCONFIG\n"),
      strcontains(local.user_data, "base64 --decode > \"$config_dir/enrichments/ua_parser.json\" <<'CONFIG'\n${base64encode(var.enrichments.ua_parser)}\nCONFIG\n"),
      strcontains(local.user_data, "base64 --decode > \"$config_dir/enrichments/referer_parser.json\" <<'CONFIG'\n${base64encode(var.enrichments.referer_parser)}\nCONFIG\n"),
      strcontains(local.user_data, "readonly image='snowplow/snowplow-enrich-kinesis:5.1.2'"),
      strcontains(local.user_data, "--log-opt 'awslogs-group=/snowplow/snowplow-enricher'"),
      strcontains(local.user_data, "--enrichments /snowplow/config/enrichments"),
    ])
    error_message = "The user data must write each rendered file and run the given image with its logs in the module's log group."
  }
}

run "baseline_config" {
  command = apply
}

run "a_new_enrichment_rolls_the_fleet" {
  command = apply

  variables {
    enrichments = { ua_parser = "{\"schema\": \"ua\"}", referer_parser = "{\"schema\": \"referer\"}", event_fingerprint = "{\"schema\": \"fingerprint\"}" }
  }

  assert {
    condition     = output.config_sha256 != run.baseline_config.config_sha256 && aws_launch_template.this.tag_specifications[0].tags.config_sha256 == output.config_sha256
    error_message = "A configuration change must change the config_sha256 the launch template gives its instances, i.e. make a new launch template version."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.this.launch_template[0].version == tostring(aws_launch_template.this.latest_version),
      aws_autoscaling_group.this.instance_refresh[0].strategy == "Rolling",
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 90,
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].auto_rollback,
    ])
    error_message = "The group must follow the latest launch template version with a rolling refresh keeping 90% healthy."
  }
}
