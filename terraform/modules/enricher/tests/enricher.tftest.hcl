# Offline tests of the enricher module: a mocked AWS provider, so they assert what the module asks
# AWS for, not what AWS does with it.

mock_provider "aws" {
  source = "../../testing/aws-mocks"
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

run "group_uses_ec2_health_checks_and_no_load_balancer" {
  command = apply

  assert {
    condition = alltrue([
      module.fleet.autoscaling_group.subnet_ids == toset(var.private_subnet_ids),
      module.fleet.autoscaling_group.health_check_type == "EC2",
      length(module.fleet.autoscaling_group.target_group_arns) == 0,
      module.fleet.autoscaling_group.min_size == 2,
      module.fleet.autoscaling_group.max_size == 4,
      output.autoscaling_group_name == "snowplow-enricher",
      output.security_group_id == module.fleet.security_group_id,
    ])
    error_message = "The group must run 2 to 4 instances by default in the private subnets, with EC2 health checks and no load balancer."
  }
}

run "egress_is_https_only_unless_a_reviewed_entry_adds_a_destination" {
  command = apply

  assert {
    condition     = module.fleet.egress_rules == { https = { port = 443, cidr_ipv4 = "0.0.0.0/0" } }
    error_message = "Without egress entries the enricher may only connect out over HTTPS."
  }
}

run "an_sql_enrichment_database_gets_its_port_through_egress" {
  command = apply

  variables {
    egress = {
      sql = { description = "SQL enrichment database", port = 5432, cidr_ipv4 = "10.20.0.0/16" }
    }
  }

  assert {
    condition = module.fleet.egress_rules == {
      https = { port = 443, cidr_ipv4 = "0.0.0.0/0" }
      sql   = { port = 5432, cidr_ipv4 = "10.20.0.0/16" }
    }
    error_message = "Each egress entry must become an outbound rule of the enricher instances, to its port and CIDR block only."
  }
}

run "iam_reads_raw_good_and_writes_only_the_enriched_streams" {
  command = apply

  assert {
    condition = one([
      for statement in jsondecode(local.policy).Statement : statement
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
      for statement in jsondecode(local.policy).Statement : statement
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
      for statement in jsondecode(local.policy).Statement :
      toset(statement.Resource) == toset([aws_dynamodb_table.leases.arn])
      if anytrue([for action in statement.Action : startswith(action, "dynamodb:")])
    ])
    error_message = "DynamoDB access must name the lease table only."
  }

  assert {
    condition = toset([
      for statement in jsondecode(local.policy).Statement :
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
      for statement in jsondecode(local.policy).Statement : statement.Condition
      if statement.Sid == "PublishKclMetrics"
    ]) == { StringEquals = { "cloudwatch:namespace" = "snowplow-enrich" } }
    error_message = "KCL's metrics may be published only under its namespace, the app name (the agent's namespace is the fleet's)."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(local.policy).Statement :
      !anytrue([for action in statement.Action : strcontains(action, "*") || startswith(action, "secretsmanager:") || startswith(action, "s3:")])
    ])
    error_message = "No wildcard actions, and no secret or S3 access when no Iglu API key or S3 asset is configured."
  }

  assert {
    condition     = output.role_name == "snowplow-enricher"
    error_message = "The instances' role (ec2-fleet, which attaches this policy) must be named after the enricher."
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
      for statement in jsondecode(local.policy).Statement : statement
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
      for statement in jsondecode(local.policy).Statement : statement
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
      strcontains(local.boot_script, "--secret-id 'snowplow/iglu-api-key'"),
      strcontains(local.boot_script, "printf '%s=%s\\n' 'IGLU_API_KEY' \"$iglu_api_key\" >> \"$env_file\""),
      strcontains(local.boot_script, "--env-file \"$env_file\""),
    ])
    error_message = "The boot script must fetch the key and hand it to the container through the env file."
  }
}

run "without_an_iglu_api_key_the_boot_script_reads_no_secret" {
  command = plan

  assert {
    condition     = !strcontains(module.fleet.user_data, "secretsmanager")
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
      for statement in jsondecode(local.policy).Statement : statement
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
    condition     = startswith(module.fleet.user_data, "#!/bin/bash\n") && endswith(module.fleet.user_data, "\n${local.boot_script}")
    error_message = "The instances' boot script must end with Enrich's steps."
  }

  assert {
    condition = alltrue([
      strcontains(local.boot_script, "base64 --decode > \"$config_dir/enrich.hocon\" <<'CONFIG'\n${base64encode(var.config)}\nCONFIG\n"),
      strcontains(local.boot_script, "base64 --decode > \"$config_dir/iglu_resolver.json\" <<'CONFIG'\n${base64encode(var.iglu_resolver)}\nCONFIG\n"),
      strcontains(local.boot_script, "base64 --decode > \"$config_dir/enrichments/ua_parser.json\" <<'CONFIG'\n${base64encode(var.enrichments.ua_parser)}\nCONFIG\n"),
      strcontains(local.boot_script, "base64 --decode > \"$config_dir/enrichments/referer_parser.json\" <<'CONFIG'\n${base64encode(var.enrichments.referer_parser)}\nCONFIG\n"),
      strcontains(module.fleet.user_data, "\nreadonly image='snowplow/snowplow-enrich-kinesis:5.1.2'\n"),
      strcontains(local.boot_script, "--log-opt \"awslogs-group=$log_group\""),
      strcontains(local.boot_script, "--enrichments /snowplow/config/enrichments"),
      output.log_group_name == "/snowplow/snowplow-enricher",
    ])
    error_message = "The boot steps must write each rendered file and run the given image with its logs in the fleet's log group, /snowplow/NAME."
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
    condition     = output.config_sha256 != run.baseline_config.config_sha256 && output.config_sha256 == sha256(jsonencode(local.config_files))
    error_message = "A configuration change must change the config_sha256 the launch template gives its instances, i.e. make a new launch template version (which ec2-fleet's instance refresh rolls out)."
  }
}
