# --- data path (KMS keys, streams, buckets, pseudonymization, delivery) ---
# The IAM role that alone may read raw records that failed pseudonymization (managed outside this
# repository, assumed only in an incident).
break_glass_role_name = "snowplow-break-glass"

# --- operations (monitoring, Snowflake access) ---
# Filled in from Snowflake once its side exists: DESC INTEGRATION (step 3) and SHOW PIPES (step 6)
# of docs/snowflake.md, "Order of operations". Until then no role and no notification exist.
snowflake_storage_integration = null
snowpipe_sqs_queue_arn        = null
