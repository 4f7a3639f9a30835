mock_provider "aws" {
  source = "../../testing/aws-mocks"
}

variables {
  name        = "snowplow/logs"
  description = "Encrypts the CloudWatch log groups."
}

run "rotating_key_administered_through_iam" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.key_usage == "ENCRYPT_DECRYPT"
    error_message = "The key must be a symmetric encryption key with automatic rotation."
  }
  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 30
    error_message = "A deleted key must stay recoverable for the longest window, 30 days."
  }
  assert {
    condition     = aws_kms_alias.this.name == "alias/snowplow/logs"
    error_message = "The alias must be alias/NAME."
  }
  assert {
    condition = jsondecode(aws_kms_key.this.policy).Statement == [{
      Sid       = "AccountAdministersTheKeyThroughIam"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
    error_message = "Without service principals the policy must only delegate to this account's IAM."
  }
  assert {
    condition     = length(terraform_data.prevent_destroy) == 1
    error_message = "The key must be guarded against destruction by default."
  }
}

run "service_principal_with_conditions" {
  command = plan

  variables {
    service_principals = [{
      sid     = "CloudWatchLogsUsesTheKey"
      service = "logs.us-east-1.amazonaws.com"
      actions = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      conditions = [{
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:aws:logs:us-east-1:111122223333:log-group:*"]
      }]
    }]
  }

  assert {
    condition = jsondecode(aws_kms_key.this.policy).Statement[1] == {
      Sid       = "CloudWatchLogsUsesTheKey"
      Effect    = "Allow"
      Principal = { Service = "logs.us-east-1.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = ["arn:aws:logs:us-east-1:111122223333:log-group:*"] } }
    }
    error_message = "A service principal must get exactly its actions, narrowed by its conditions."
  }
}

run "unguarded_when_protection_is_off" {
  command = plan

  variables {
    prevent_destroy = false
  }

  assert {
    condition     = length(terraform_data.prevent_destroy) == 0
    error_message = "prevent_destroy = false must not create the guard."
  }
}

run "kms_wildcard_for_a_service_is_refused" {
  command = plan

  variables {
    service_principals = [{ sid = "TooBroad", service = "logs.us-east-1.amazonaws.com", actions = ["kms:*"] }]
  }

  expect_failures = [var.service_principals]
}

run "reserved_alias_is_refused" {
  command = plan

  variables {
    name = "aws/s3"
  }

  expect_failures = [var.name]
}
