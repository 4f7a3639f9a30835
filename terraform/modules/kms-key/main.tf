data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  # Built with jsonencode() rather than aws_iam_policy_document so that tests can decode it.
  policy = {
    Version = "2012-10-17"
    Statement = concat(
      [{
        # Delegates access to IAM: a principal of this account may use the key only when its own
        # IAM policy allows it. Without this statement the key would be unmanageable.
        Sid       = "AccountAdministersTheKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = "kms:*"
        Resource  = "*"
      }],
      [for p in var.service_principals : merge(
        {
          Sid       = p.sid
          Effect    = "Allow"
          Principal = { Service = p.service }
          Action    = p.actions
          Resource  = "*"
        },
        length(p.conditions) == 0 ? {} : {
          Condition = {
            for test in distinct([for c in p.conditions : c.test]) : test => {
              for c in p.conditions : c.variable => c.values if c.test == test
            }
          }
        },
      )],
    )
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = jsonencode(local.policy)
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# lifecycle.prevent_destroy cannot take a variable, so the guard is a separate resource that is
# replaced whenever the key is: a plan that destroys or replaces the key must destroy the guard,
# and Terraform refuses that plan. See docs/data-path.md, "Protection against destruction".
resource "terraform_data" "prevent_destroy" {
  count = var.prevent_destroy ? 1 : 0

  triggers_replace = [aws_kms_key.this.arn]

  lifecycle {
    prevent_destroy = true
  }
}
