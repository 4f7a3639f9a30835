data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# An existing provider for the issuer (IAM allows one per URL), when create_oidc_provider is false.
data "aws_iam_openid_connect_provider" "existing" {
  count = var.create_oidc_provider ? 0 : 1
  url   = var.gitlab_url
}

locals {
  pipeline  = yamldecode(file(var.pipeline_file))
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = local.pipeline.region
  issuer    = trimprefix(var.gitlab_url, "https://")
  arn       = "arn:${local.partition}"

  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.gitlab[0].arn : data.aws_iam_openid_connect_provider.existing[0].arn

  # What the environment names, from its pipeline.yaml: the apply role may change these and, for
  # the types whose ARNs carry no name (EC2, KMS keys), what carries the environment's tags.
  stream_names   = [for s in values(local.pipeline.streams) : s.name]
  delivery_names = [for d in values(local.pipeline.delivery) : d.name]
  function_names = values(local.pipeline.pseudonymization.functions)
  bucket_names   = values(local.pipeline.buckets)
  project_tag    = local.pipeline.tags.project
  # Roles, instance profiles, alarms, topics, load balancers and groups of the environment all
  # start with this (the modules' default names); the target group's generated name with spcol-.
  name_prefix = "snowplow"
  ci_roles    = ["${var.role_name_prefix}-plan", "${var.role_name_prefix}-apply"]

  # Job token claims (GitLab's id_tokens): any pipeline of the project may plan; only the default
  # branch's may apply (README.md, "AWS access").
  plan_subject  = "project_path:${var.project_path}:*"
  apply_subject = "project_path:${var.project_path}:ref_type:branch:ref:${var.default_branch}"

  # --- Reading: what refreshing every resource type of the environment and its data sources
  # needs, and nothing that returns data (objects, records, secret values, log events, items).

  read_actions = [
    "autoscaling:Describe*",
    "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource",
    "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource",
    "ec2:Describe*",
    "elasticloadbalancing:Describe*",
    "firehose:DescribeDeliveryStream", "firehose:ListTagsForDeliveryStream",
    "iam:GetInstanceProfile", "iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole",
    "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies",
    "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:ListTagsForStream",
    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
    "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency", "lambda:GetPolicy",
    "lambda:ListTags", "lambda:ListVersionsByFunction",
    "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
    "s3:GetAccelerateConfiguration", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration", "s3:ListBucket",
    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
    "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
  ]

  read_statements = [
    {
      # Describe, Get and List of configuration: most have no resource-level permissions.
      Sid      = "ReadConfiguration"
      Effect   = "Allow"
      Action   = local.read_actions
      Resource = "*"
    },
    {
      Sid      = "ReadTheAmazonLinuxImageParameter"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:GetParameters"]
      Resource = "${local.arn}:ssm:${local.region}::parameter/aws/service/ami-amazon-linux-latest/*"
    },
    {
      # Events, bad rows, the salt and the logs stay out of reach of CI, whatever else allows it.
      Sid    = "NeverReadData"
      Effect = "Deny"
      Action = [
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
        "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:SubscribeToShard",
        "kms:Decrypt", "kms:ReEncryptFrom",
        "lambda:InvokeFunction",
        "logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartLiveTail", "logs:StartQuery",
        "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes",
        "secretsmanager:GetSecretValue",
      ]
      Resource = "*"
    },
  ]

  # --- Writing: each service's changes, on the environment's names where the ARN carries one.

  data_path_statements = [
    {
      Sid    = "ManageStreams"
      Effect = "Allow"
      Action = [
        "kinesis:AddTagsToStream", "kinesis:CreateStream", "kinesis:DecreaseStreamRetentionPeriod", "kinesis:DeleteStream",
        "kinesis:IncreaseStreamRetentionPeriod", "kinesis:RemoveTagsFromStream", "kinesis:StartStreamEncryption",
        "kinesis:StopStreamEncryption", "kinesis:UpdateShardCount", "kinesis:UpdateStreamMode",
      ]
      Resource = [for name in local.stream_names : "${local.arn}:kinesis:${local.region}:${local.account}:stream/${name}"]
    },
    {
      Sid    = "ManageDeliveryStreams"
      Effect = "Allow"
      Action = [
        "firehose:CreateDeliveryStream", "firehose:DeleteDeliveryStream", "firehose:TagDeliveryStream",
        "firehose:UntagDeliveryStream", "firehose:UpdateDestination",
      ]
      Resource = [for name in local.delivery_names : "${local.arn}:firehose:${local.region}:${local.account}:deliverystream/${name}"]
    },
    {
      Sid    = "ManageFunctions"
      Effect = "Allow"
      Action = [
        "lambda:AddPermission", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency",
        "lambda:PublishVersion", "lambda:PutFunctionConcurrency", "lambda:RemovePermission", "lambda:TagResource",
        "lambda:UntagResource", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
      ]
      Resource = [for name in local.function_names : "${local.arn}:lambda:${local.region}:${local.account}:function:${name}"]
    },
    {
      Sid    = "ManageLogGroups"
      Effect = "Allow"
      Action = [
        "logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DeleteLogGroup", "logs:DeleteLogStream",
        "logs:DeleteRetentionPolicy", "logs:DisassociateKmsKey", "logs:PutRetentionPolicy", "logs:TagLogGroup",
        "logs:TagResource", "logs:UntagLogGroup", "logs:UntagResource",
      ]
      Resource = flatten([
        for group in concat(
          ["/snowplow/*"],
          [for name in local.function_names : "/aws/lambda/${name}"],
          [for name in local.delivery_names : "/aws/kinesisfirehose/${name}"],
        ) : ["${local.arn}:logs:${local.region}:${local.account}:log-group:${group}", "${local.arn}:logs:${local.region}:${local.account}:log-group:${group}:*"]
      ])
    },
    {
      Sid    = "ManageTheLeaseTable"
      Effect = "Allow"
      Action = [
        "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:TagResource", "dynamodb:UntagResource",
        "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
      ]
      Resource = "${local.arn}:dynamodb:${local.region}:${local.account}:table/${local.pipeline.enrich.app_name}"
    },
    {
      # The secret's resource, never its value (NeverReadData; the salt is set outside Terraform).
      Sid    = "ManageTheSaltSecret"
      Effect = "Allow"
      Action = [
        "secretsmanager:CreateSecret", "secretsmanager:DeleteResourcePolicy", "secretsmanager:DeleteSecret",
        "secretsmanager:PutResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource",
        "secretsmanager:UpdateSecret",
      ]
      Resource = "${local.arn}:secretsmanager:${local.region}:${local.account}:secret:${local.pipeline.pseudonymization.salt_secret_name}-??????"
    },
    {
      Sid    = "ManageTheBuckets"
      Effect = "Allow"
      Action = [
        "s3:CreateBucket", "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketLogging", "s3:PutBucketNotification",
        "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging",
        "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration",
      ]
      Resource = [for name in local.bucket_names : "${local.arn}:s3:::${name}"]
    },
  ]

  operations_statements = [
    {
      Sid    = "ManageAlarmsTopicsAndDashboard"
      Effect = "Allow"
      Action = [
        "cloudwatch:DeleteAlarms", "cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard", "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource", "cloudwatch:UntagResource",
        "sns:CreateTopic", "sns:DeleteTopic", "sns:SetSubscriptionAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
        "sns:TagResource", "sns:Unsubscribe", "sns:UntagResource",
      ]
      Resource = [
        "${local.arn}:cloudwatch:${local.region}:${local.account}:alarm:${local.name_prefix}-*",
        "${local.arn}:cloudwatch::${local.account}:dashboard/SnowPlow",
        "${local.arn}:sns:${local.region}:${local.account}:${local.name_prefix}-*",
      ]
    },
    {
      Sid    = "ManageTheEnvironmentsRoles"
      Effect = "Allow"
      Action = [
        "iam:AddRoleToInstanceProfile", "iam:CreateInstanceProfile", "iam:CreateRole", "iam:DeleteInstanceProfile",
        "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:PutRolePolicy", "iam:RemoveRoleFromInstanceProfile",
        "iam:TagInstanceProfile", "iam:TagRole", "iam:UntagInstanceProfile", "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
      ]
      Resource = [
        "${local.arn}:iam::${local.account}:role/${local.name_prefix}-*",
        "${local.arn}:iam::${local.account}:instance-profile/${local.name_prefix}-*",
      ]
    },
    {
      # The one managed policy the environment attaches (Session Manager on the fleets).
      Sid       = "AttachOnlySessionManager"
      Effect    = "Allow"
      Action    = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
      Resource  = "${local.arn}:iam::${local.account}:role/${local.name_prefix}-*"
      Condition = { ArnEquals = { "iam:PolicyARN" = "${local.arn}:iam::aws:policy/AmazonSSMManagedInstanceCore" } }
    },
    {
      Sid       = "PassTheEnvironmentsRolesToItsServices"
      Effect    = "Allow"
      Action    = "iam:PassRole"
      Resource  = "${local.arn}:iam::${local.account}:role/${local.name_prefix}-*"
      Condition = { StringEquals = { "iam:PassedToService" = ["ec2.amazonaws.com", "firehose.amazonaws.com", "lambda.amazonaws.com"] } }
    },
    {
      Sid       = "CreateTheServiceLinkedRoles"
      Effect    = "Allow"
      Action    = "iam:CreateServiceLinkedRole"
      Resource  = "*"
      Condition = { StringEquals = { "iam:AWSServiceName" = ["autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com"] } }
    },
    {
      # A key's ARN carries no name: new keys must carry the environment's project tag, and only
      # keys that do may be changed. No cryptographic use of them (NeverReadData).
      Sid       = "CreateKeysWithTheProjectTag"
      Effect    = "Allow"
      Action    = ["kms:CreateKey", "kms:TagResource"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:RequestTag/project" = local.project_tag } }
    },
    {
      Sid    = "ManageTheProjectsKeys"
      Effect = "Allow"
      Action = [
        "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DisableKeyRotation", "kms:EnableKeyRotation",
        "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
        "kms:UpdateKeyDescription",
      ]
      Resource  = "${local.arn}:kms:${local.region}:${local.account}:key/*"
      Condition = { StringEquals = { "aws:ResourceTag/project" = local.project_tag } }
    },
    {
      Sid      = "ManageTheProjectsAliases"
      Effect   = "Allow"
      Action   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
      Resource = "${local.arn}:kms:${local.region}:${local.account}:alias/${local.name_prefix}/*"
    },
    {
      # Lambda, DynamoDB and Kinesis use the customer-managed keys through grants to themselves.
      Sid       = "GrantKeysOnlyToAwsServices"
      Effect    = "Allow"
      Action    = ["kms:CreateGrant"]
      Resource  = "${local.arn}:kms:${local.region}:${local.account}:key/*"
      Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }
    },
    {
      # The apply role can change the environment's roles, never CI's own access.
      Sid      = "NeverChangeCiAccess"
      Effect   = "Deny"
      Action   = ["iam:*"]
      Resource = concat([for name in local.ci_roles : "${local.arn}:iam::${local.account}:role/${name}"], [local.oidc_provider_arn])
    },
  ]

  compute_statements = [
    {
      Sid    = "ManageTheLoadBalancer"
      Effect = "Allow"
      Action = [
        "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:RemoveTags", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
      ]
      Resource = [
        "${local.arn}:elasticloadbalancing:${local.region}:${local.account}:loadbalancer/app/${local.name_prefix}-*/*",
        "${local.arn}:elasticloadbalancing:${local.region}:${local.account}:listener/app/${local.name_prefix}-*/*",
        "${local.arn}:elasticloadbalancing:${local.region}:${local.account}:targetgroup/spcol-*/*",
      ]
    },
    {
      Sid    = "ManageTheFleets"
      Effect = "Allow"
      Action = [
        "autoscaling:CancelInstanceRefresh", "autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags",
        "autoscaling:DeleteAutoScalingGroup", "autoscaling:DeletePolicy", "autoscaling:DeleteTags",
        "autoscaling:DisableMetricsCollection", "autoscaling:EnableMetricsCollection", "autoscaling:PutScalingPolicy",
        "autoscaling:StartInstanceRefresh", "autoscaling:UpdateAutoScalingGroup",
      ]
      Resource = "${local.arn}:autoscaling:${local.region}:${local.account}:autoScalingGroup:*:autoScalingGroupName/${local.name_prefix}-*"
    },
    {
      # EC2 ARNs carry ids, not names: security groups, their rules and launch templates are
      # changed in the region only. The widest statement; the plan review is its control.
      Sid    = "ManageSecurityGroupsAndLaunchTemplates"
      Effect = "Allow"
      Action = [
        "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateLaunchTemplate",
        "ec2:CreateLaunchTemplateVersion", "ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:DeleteLaunchTemplate",
        "ec2:DeleteLaunchTemplateVersions", "ec2:DeleteSecurityGroup", "ec2:DeleteTags", "ec2:ModifyLaunchTemplate",
        "ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
        "ec2:RunInstances", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
      ]
      Resource  = "*"
      Condition = { StringEquals = { "aws:RequestedRegion" = local.region } }
    },
  ]

  # Customer-managed policies hold at most 6,144 characters each (whitespace excluded), so the
  # apply role's permissions are three policies beside the read policy both roles carry.
  read_policy = { Version = "2012-10-17", Statement = local.read_statements }
  apply_policies = {
    data-path  = { Version = "2012-10-17", Statement = local.data_path_statements }
    operations = { Version = "2012-10-17", Statement = local.operations_statements }
    compute    = { Version = "2012-10-17", Statement = local.compute_statements }
  }
}

# --- GitLab's OIDC identity provider: jobs exchange their id_token for a role, no stored keys ---

resource "aws_iam_openid_connect_provider" "gitlab" {
  count = var.create_oidc_provider ? 1 : 0

  url            = var.gitlab_url
  client_id_list = [var.gitlab_url]
}

# --- The roles, each assumable only with a job token of the project (and, for apply, the branch) ---

resource "aws_iam_role" "plan" {
  name                 = local.ci_roles[0]
  description          = "GitLab CI plan jobs of ${var.project_path}: read the environment configuration, never its data."
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.issuer}:aud" = var.gitlab_url }
        StringLike   = { "${local.issuer}:sub" = local.plan_subject }
      }
    }]
  })
}

resource "aws_iam_policy" "read" {
  name        = "${var.role_name_prefix}-read-configuration"
  description = "Read the Snowplow environment configuration (Describe, Get, List), never its data: both CI roles."
  policy      = jsonencode(local.read_policy)
}

resource "aws_iam_role_policy_attachment" "plan_read" {
  role       = aws_iam_role.plan.name
  policy_arn = aws_iam_policy.read.arn
}

resource "aws_iam_role" "apply" {
  name                 = local.ci_roles[1]
  description          = "GitLab CI apply jobs of the default branch of ${var.project_path}: change the environment."
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.issuer}:aud" = var.gitlab_url
          "${local.issuer}:sub" = local.apply_subject
        }
      }
    }]
  })
}

resource "aws_iam_policy" "apply" {
  for_each = local.apply_policies

  name        = "${var.role_name_prefix}-apply-${each.key}"
  description = "Change the Snowplow environment (${each.key}): the apply role only."
  policy      = jsonencode(each.value)
}

resource "aws_iam_role_policy_attachment" "apply_read" {
  role       = aws_iam_role.apply.name
  policy_arn = aws_iam_policy.read.arn
}

resource "aws_iam_role_policy_attachment" "apply" {
  for_each = aws_iam_policy.apply

  role       = aws_iam_role.apply.name
  policy_arn = each.value.arn
}
