# Offline tests of the account bootstrap: a mocked AWS provider, so they assert the trust and the
# permissions the roles are given, not what IAM does with them.

mock_provider "aws" {
  source = "../testing/aws-mocks"

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/gitlab.com" }
  }

  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::111122223333:policy/gitlab-ci-snowplow" }
  }
}

variables {
  project_path = "gitlab-org/analytics/snowplow-infra"
}

run "the_roles_trust_only_the_projects_job_tokens" {
  command = apply

  assert {
    condition     = aws_iam_openid_connect_provider.gitlab[0].url == "https://gitlab.com" && aws_iam_openid_connect_provider.gitlab[0].client_id_list == toset(["https://gitlab.com"])
    error_message = "The identity provider must be GitLab's, with the instance URL as the audience the jobs' id_tokens carry."
  }

  assert {
    condition = jsondecode(aws_iam_role.plan.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/gitlab.com" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "gitlab.com:aud" = "https://gitlab.com" }
        StringLike   = { "gitlab.com:sub" = "project_path:gitlab-org/analytics/snowplow-infra:*" }
      }
    }]
    error_message = "The plan role must be assumable by any pipeline of the project, and of no other project."
  }

  assert {
    condition = jsondecode(aws_iam_role.apply.assume_role_policy).Statement[0].Condition == {
      StringEquals = {
        "gitlab.com:aud" = "https://gitlab.com"
        "gitlab.com:sub" = "project_path:gitlab-org/analytics/snowplow-infra:ref_type:branch:ref:main"
      }
    }
    error_message = "The apply role must be assumable only by pipelines of the project's default branch (exact sub, no wildcard)."
  }
}

run "the_plan_role_reads_configuration_and_never_data" {
  command = apply

  assert {
    condition     = aws_iam_role_policy_attachment.plan_read.role == aws_iam_role.plan.name && aws_iam_role_policy_attachment.plan_read.policy_arn == aws_iam_policy.read.arn
    error_message = "The plan role must carry the read policy, and only it."
  }

  assert {
    condition = alltrue(flatten([
      for statement in jsondecode(aws_iam_policy.read.policy).Statement : [
        for action in flatten([statement.Action]) : can(regex("^[a-z0-9-]+:(Describe|Get|List)", action))
      ] if statement.Effect == "Allow"
    ]))
    error_message = "Every action the read policy allows must be a Describe, Get or List."
  }

  assert {
    condition = length(setsubtract(
      ["s3:GetObject", "kinesis:GetRecords", "secretsmanager:GetSecretValue", "kms:Decrypt", "logs:GetLogEvents", "dynamodb:Scan"],
      one([for s in jsondecode(aws_iam_policy.read.policy).Statement : s.Action if s.Sid == "NeverReadData" && s.Effect == "Deny"]),
    )) == 0
    error_message = "Both roles must be denied the reads that return events, bad rows, the salt, logs and leases."
  }
}

run "the_apply_role_changes_the_environments_names_only_and_never_ci_access" {
  command = apply

  assert {
    condition     = keys(aws_iam_role_policy_attachment.apply) == ["compute", "data-path", "operations"] && alltrue([for a in aws_iam_role_policy_attachment.apply : a.role == aws_iam_role.apply.name]) && aws_iam_role_policy_attachment.apply_read.role == aws_iam_role.apply.name
    error_message = "The apply role must carry the read policy and the three apply policies."
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_policy.apply["data-path"].policy).Statement : s.Resource if s.Sid == "ManageStreams"]) == [
      "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-enriched-bad",
      "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-enriched-good",
      "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-raw-bad",
      "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-raw-good",
    ]
    error_message = "The apply role may change exactly the streams pipeline.yaml names."
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_policy.apply["data-path"].policy).Statement : s.Resource if s.Sid == "ManageTheBuckets"]) == [
      "arn:aws:s3:::gitlab-com-snowplow-access-logs", "arn:aws:s3:::gitlab-com-snowplow-events",
    ]
    error_message = "The apply role may configure exactly the buckets pipeline.yaml names."
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_policy.apply["operations"].policy).Statement : s if s.Sid == "NeverChangeCiAccess"]) == {
      Sid    = "NeverChangeCiAccess"
      Effect = "Deny"
      Action = ["iam:*"]
      Resource = [
        "arn:aws:iam::111122223333:role/gitlab-ci-snowplow-plan",
        "arn:aws:iam::111122223333:role/gitlab-ci-snowplow-apply",
        "arn:aws:iam::123456789012:oidc-provider/gitlab.com",
      ]
    }
    error_message = "The apply role must never change the CI roles or the identity provider."
  }

  assert {
    condition = alltrue(flatten([
      for p in aws_iam_policy.apply : [
        for s in jsondecode(p.policy).Statement : !anytrue([for a in flatten([s.Action]) : a == "*" || endswith(a, ":*")]) if s.Effect == "Allow"
      ]
    ]))
    error_message = "The apply policies must name their actions: no service wildcard."
  }

  assert {
    # IAM: a customer-managed policy holds at most 6,144 characters, whitespace excluded.
    condition     = alltrue([for p in concat([aws_iam_policy.read], values(aws_iam_policy.apply)) : length(replace(p.policy, "/\\s/", "")) <= 6144])
    error_message = "Each CI policy must stay within IAM's 6,144 characters for a managed policy."
  }
}

run "an_existing_identity_provider_is_used_instead" {
  command = plan

  variables {
    create_oidc_provider = false
  }

  override_data {
    target = data.aws_iam_openid_connect_provider.existing[0]
    values = { arn = "arn:aws:iam::123456789012:oidc-provider/gitlab.com" }
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.gitlab) == 0 && local.oidc_provider_arn == "arn:aws:iam::123456789012:oidc-provider/gitlab.com"
    error_message = "With create_oidc_provider = false the roles must trust the account's existing provider."
  }
}

run "a_wildcard_project_is_refused" {
  command = plan

  variables {
    project_path = "gitlab-org/*"
  }

  expect_failures = [var.project_path]
}

run "ci_roles_named_like_the_environments_are_refused" {
  command = plan

  variables {
    role_name_prefix = "snowplow-ci"
  }

  expect_failures = [var.role_name_prefix]
}
