provider "aws" {
  region = local.pipeline.region

  default_tags {
    tags = merge(local.pipeline.tags, { component = "ci-bootstrap" })
  }
}
