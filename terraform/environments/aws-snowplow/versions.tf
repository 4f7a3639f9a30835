terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # GitLab-managed Terraform state. CI configures it through the TF_HTTP_* environment variables
  # (address, lock/unlock addresses, username, password), never through -backend-config, so no
  # short-lived job token is frozen into a saved plan. Local runs (make plan, make demo) replace
  # it with a local backend under build/ through a generated, git-ignored *_override.tf file.
  backend "http" {}
}
