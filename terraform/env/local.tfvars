# The local stack (scripts/local/up): every service on the emulator (moto server). scripts/local/up passes
# -var aws_endpoint_url=http://127.0.0.1:<port> so the port stays configurable.
aws_region             = "eu-west-1"
lambda_architecture    = "x86_64"
log_level              = "DEBUG"
log_retention_days     = 1
point_in_time_recovery = true
deletion_protection    = false
force_destroy_buckets  = true

# moto would consume and drop messages for an enabled mapping; the local runner plays the mappings instead.
event_source_mappings_enabled = false

# Short enough to see an auction's late bid extend it, and its close, without waiting for five minutes.
api = {
  min_auction_seconds = 60
}
