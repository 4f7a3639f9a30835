variable "gitlab_url" {
  description = "URL of the GitLab instance whose CI jobs assume the roles: the OIDC issuer, and the audience of the jobs' id_tokens (.gitlab-ci.yml's aud)."
  type        = string
  default     = "https://gitlab.com"

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", var.gitlab_url))
    error_message = "gitlab_url must be https://HOST without a trailing slash or path, e.g. https://gitlab.com."
  }
}

variable "project_path" {
  description = "Full path of the GitLab project that runs the pipeline, GROUP/PROJECT (subgroups allowed): the only project whose jobs may assume the roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$", var.project_path)) && !strcontains(var.project_path, "*")
    error_message = "project_path must be GROUP/PROJECT (letters, digits, _ . -), with no wildcard."
  }
}

variable "default_branch" {
  description = "The project's default branch: only its pipelines may assume the apply role."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./-]+$", var.default_branch)) && !strcontains(var.default_branch, "*")
    error_message = "default_branch must be a branch name, with no wildcard."
  }
}

variable "role_name_prefix" {
  description = "Prefix of the two CI roles: PREFIX-plan and PREFIX-apply. The apply role may never change roles with this prefix (nor the identity provider), so it must not be a prefix of the environment's own roles' names."
  type        = string
  default     = "gitlab-ci-snowplow"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,57}$", var.role_name_prefix)) && !startswith(var.role_name_prefix, "snowplow")
    error_message = "role_name_prefix must be 1 to 57 characters an IAM role name allows, and must not start with snowplow (the environment's roles do, and the apply role may change those)."
  }
}

variable "pipeline_file" {
  description = "The environment's pipeline.yaml, from which the apply role's resource names come (streams, functions, buckets, delivery streams, the lease table, the salt secret)."
  type        = string
  default     = "../environments/aws-snowplow/pipeline.yaml"
}

variable "create_oidc_provider" {
  description = "Create the account's OIDC identity provider for gitlab_url. Set false when the account already has one for this issuer (IAM allows one per URL); its ARN is then looked up."
  type        = bool
  default     = true
  nullable    = false
}
