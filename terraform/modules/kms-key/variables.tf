variable "name" {
  description = "Name of the key: its alias becomes alias/NAME. Lowercase letters, digits, '-', '_' and '/'."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]{0,239}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "name must be 1 to 240 lowercase letters, digits, '-', '_' or '/', and must not start with 'aws/' (reserved for AWS managed keys)."
  }
}

variable "description" {
  description = "What the key encrypts, shown in the KMS console and in the plan."
  type        = string

  validation {
    condition     = length(trimspace(var.description)) > 0 && length(var.description) <= 8192
    error_message = "description must be a non-empty sentence of at most 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Days between scheduling the key's deletion and AWS deleting it; the key can be restored during that window."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number of days from 7 to 30."
  }
}

variable "service_principals" {
  description = <<-EOT
    AWS services that use the key under their own identity and therefore need a key-policy
    statement (an IAM role cannot grant them access), e.g. CloudWatch Logs for encrypted log
    groups. Services that act with a caller's role (Kinesis, S3, Secrets Manager, Firehose) need
    nothing here: the key policy delegates to IAM. Each entry: a statement id, the service
    principal, the KMS actions, and optional conditions that narrow the statement.
  EOT
  type = list(object({
    sid     = string
    service = string
    actions = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []

  validation {
    condition = alltrue([
      for p in var.service_principals :
      can(regex("^[A-Za-z0-9]+$", p.sid)) && endswith(p.service, ".amazonaws.com") && length(p.actions) > 0 &&
      alltrue([for a in p.actions : startswith(a, "kms:") && a != "kms:*"])
    ])
    error_message = "Each service_principals entry needs an alphanumeric sid, a service ending in .amazonaws.com and at least one explicit kms: action (never kms:*)."
  }

  validation {
    condition     = length(distinct([for p in var.service_principals : p.sid])) == length(var.service_principals)
    error_message = "service_principals sids must be unique."
  }
}

variable "prevent_destroy" {
  description = "Refuse, at plan time, any plan that destroys or replaces the key (docs/data-path.md, section Protection against destruction, explains the guard and how to lift it)."
  type        = bool
  default     = true
}
