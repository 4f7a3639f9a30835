# Compute: the collector fleet behind its HTTPS load balancer, and the enricher fleet with
# its KCL lease table. Names, images and the licence acceptance come from pipeline.yaml
# (local.pipeline), the app configs from the build (`make configs`); decisions are in the modules'
# READMEs (terraform/modules/collector, terraform/modules/enricher, and the EC2 fleet both run on,
# terraform/modules/ec2-fleet).

locals {
  # `snowplow-infra render-configs --env ENV` writes under config/ENV/, ENV being this folder's name.
  config_dir = "${local.artifacts_dir}/config/${basename(abspath(path.module))}"

  # An ip_lookups database hosted in S3 (enrich.enrichment_settings.ip_lookups.geo_uri) is the one
  # enrichment asset the enricher reads from S3; the others come over HTTPS.
  enrichment_s3_asset_uris = [
    for uri in compact([try(local.pipeline.enrich.enrichment_settings.ip_lookups.geo_uri, null)]) : uri
    if startswith(uri, "s3://")
  ]

  # A private Iglu registry whose API key sits in Secrets Manager (encrypted with the secrets key);
  # null when there is none, or when it needs no key.
  iglu_api_key_secret_name = try(local.pipeline.enrich.iglu.private_registry.api_key_secret_name, null)
}

module "collector" {
  source = "../../modules/collector"

  vpc_id                  = var.vpc_id
  public_subnet_ids       = var.public_subnet_ids
  private_subnet_ids      = var.private_subnet_ids
  certificate_arn         = var.certificate_arn
  ingress_cidr_blocks     = var.collector_ingress_cidr_blocks
  access_logs_bucket_name = module.bucket["access_logs"].name
  access_logs_prefix      = module.bucket["access_logs"].elb_access_logs_prefix
  deletion_protection     = var.prevent_destroy

  port                       = local.pipeline.collector.port
  image                      = local.pipeline.collector.image
  config                     = file("${local.config_dir}/collector.hocon")
  accept_limited_use_license = local.pipeline.accept_limited_use_license

  raw_good_stream_arn = module.stream["raw_good"].arn
  raw_bad_stream_arn  = module.stream["raw_bad"].arn
  streams_kms_key_arn = module.kms_key["streams"].arn
  logs_kms_key_arn    = module.kms_key["logs"].arn

  fleet = { instance_type = var.collector_instance_type }
}

module "enricher" {
  source = "../../modules/enricher"

  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids

  app_name      = local.pipeline.enrich.app_name
  image         = local.pipeline.enrich.image
  config        = file("${local.config_dir}/enrich.hocon")
  iglu_resolver = file("${local.config_dir}/iglu_resolver.json")
  enrichments = {
    for name in local.pipeline.enrich.enrichments : name => file("${local.config_dir}/enrichments/${name}.json")
  }
  accept_limited_use_license = local.pipeline.accept_limited_use_license
  s3_asset_uris              = local.enrichment_s3_asset_uris
  iglu_api_key = local.iglu_api_key_secret_name == null ? null : {
    secret_name = local.iglu_api_key_secret_name
    env_var     = local.pipeline.enrich.iglu.api_key_env_var
    kms_key_arn = module.kms_key["secrets"].arn
  }

  raw_good_stream_arn      = module.stream["raw_good"].arn
  enriched_good_stream_arn = module.stream["enriched_good"].arn
  enriched_bad_stream_arn  = module.stream["enriched_bad"].arn
  streams_kms_key_arn      = module.kms_key["streams"].arn
  # The lease table holds the streams' checkpoints; the enricher already uses the streams key, so
  # encrypting the table with it gives no new principal access to any key.
  lease_table_kms_key_arn = module.kms_key["streams"].arn
  logs_kms_key_arn        = module.kms_key["logs"].arn
  prevent_destroy         = var.prevent_destroy

  egress = var.enricher_egress
  fleet  = { instance_type = var.enricher_instance_type }
}
