output "oidc_provider_arn" {
  description = "ARN of the account's OIDC identity provider for the GitLab instance."
  value       = local.oidc_provider_arn
}

output "plan_role_arn" {
  description = "ARN of the read-only plan role: the CI/CD variable AWS_PLAN_ROLE_ARN."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "ARN of the apply role: the protected CI/CD variable AWS_APPLY_ROLE_ARN."
  value       = aws_iam_role.apply.arn
}
