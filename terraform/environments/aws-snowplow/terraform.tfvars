# --- data path (KMS keys, streams, buckets, pseudonymization, delivery) ---
# The IAM role that alone may read raw records that failed pseudonymization (managed outside this
# repository, assumed only in an incident).
break_glass_role_name = "snowplow-break-glass"

# --- operations (monitoring, Snowflake access) ---
# Filled in from Snowflake once its side exists: DESC INTEGRATION (step 3) and SHOW PIPES (step 6)
# of docs/snowflake.md, "Order of operations". Until then no role and no notification exist.
snowflake_storage_integration = null
snowpipe_sqs_queue_arn        = null

# --- compute (collector, enricher) ---
# The production account's existing network and the collector certificate. This repository cannot
# look them up: the ids below are AWS's documentation examples (account 123456789012), well-formed
# so that `make plan` and CI's plan run, and must be replaced with the production account's ids
# before the first apply (an apply with them fails at the first resource that uses one).
vpc_id             = "vpc-0123456789abcdef0"
public_subnet_ids  = ["subnet-0123456789abcdef1", "subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
private_subnet_ids = ["subnet-0fedcba9876543211", "subnet-0fedcba9876543212", "subnet-0fedcba9876543213"]
certificate_arn    = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

# Every browser running GitLab.com sends events to the collector, so it is open to the internet;
# the load balancer only speaks HTTPS (80 redirects) and the instances only admit the load balancer.
collector_ingress_cidr_blocks = ["0.0.0.0/0"]

collector_instance_type = "c6i.large"
enricher_instance_type  = "c6i.xlarge"
# Where the enricher may connect besides HTTPS (443) anywhere: none of the enrichments in
# pipeline.yaml needs another port. An API or SQL enrichment or a private Iglu registry on another
# port adds an entry, e.g. sql = { description = "SQL enrichment database", port = 5432,
# cidr_ipv4 = "10.20.0.0/16" } (descriptions: letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*).
enricher_egress = {}
# The alarms' thresholds (docs/alarms.md, whose numbers a test checks against these). Each is the
# monitoring module's variable of the same name and is validated there; one left out takes the
# module's default (its README). Raise or lower them here, never in operations.tf.
alarm_thresholds = {
  collector_5xx_rate_percent      = 5       # % of requests answered 5XX, 3 of 5 minutes (P2)
  enrichment_lag_seconds          = 900     # raw-good's oldest unread record (P2)
  enrichment_stalled_seconds      = 3600    # the same, escalated (P1); well inside 48 h retention
  delivery_lag_seconds            = 900     # enriched-good's oldest unread record (P2)
  delivery_freshness_seconds      = 1800    # oldest undelivered record; above Firehose's 900 s buffering
  lambda_response_bytes_threshold = 5500000 # largest Lambda response; the cap is 6 291 456 (P3)
  low_good_events_threshold       = 1000    # good events per 15 minutes, twice in a row (P2)
  bad_to_good_ratio_percent       = 5       # bad rows as % of good events over an hour (P3)
}

# Who hears each priority's alarms (docs/alarms.md), keyed P1, P2, P3. Empty until the team names
# its list. PagerDuty goes in the masked CI/CD variable TF_VAR_alarm_https_subscribers, never here.
alarm_email_subscribers = {}
