terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Applied once per account, by a person with administrator access, before the first pipeline:
  # its state stays local (terraform.tfstate here, git-ignored) and holds no secret, only the
  # provider and role ARNs that README.md says to copy into GitLab's CI/CD variables.
}
