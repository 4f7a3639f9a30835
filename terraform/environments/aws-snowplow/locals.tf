locals {
  # The single source of truth for names shared by Terraform and the Snowplow app configs
  # (stream names, the KCL app name, region, buffer sizes). `snowplow-infra render-configs`
  # reads the same file. See docs/single-source-of-truth.md.
  pipeline = yamldecode(file("${path.module}/pipeline.yaml"))
}
