provider "aws" {
  region = local.pipeline.region

  default_tags {
    tags = local.pipeline.tags
  }
}
