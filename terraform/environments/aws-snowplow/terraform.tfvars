# --- data path (KMS keys, streams, buckets, pseudonymization, delivery) ---
# The IAM role that alone may read raw records that failed pseudonymization (managed outside this
# repository, assumed only in an incident).
break_glass_role_name = "snowplow-break-glass"
