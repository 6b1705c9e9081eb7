# The local stack (scripts/up): every service on the emulator (moto server). scripts/up passes
# -var aws_endpoint_url=http://127.0.0.1:<port> so the port stays configurable.
aws_region          = "eu-west-1"
lambda_architecture = "x86_64"
log_level           = "DEBUG"
# One line per AWS request: the end-to-end run is what scripts/cost-model counts.
log_aws_requests       = true
log_retention_days     = 1
point_in_time_recovery = true
deletion_protection    = false
force_destroy_buckets  = true
# The emulator speaks plain HTTP: the TLS-only bucket policy would (rightly) refuse every read of a photo.
enforce_tls_on_buckets = false

# moto would consume and drop messages for an enabled mapping; the local runner plays the mappings instead.
event_source_mappings_enabled = false

# Short enough to see an auction's late bid extend it, and its close, without waiting for five minutes.
# Reservations expire after 45 s (not 24 h), so the expiry flow runs in a test; a bid in an auction's last
# 20 s (not 2 minutes) extends it by 20 s, so a one-minute auction with early bids closes on time.
api = {
  min_auction_seconds     = 60
  reservation_ttl_seconds = 45
  sniping_window_seconds  = 20
  # The tests sign in with USER_PASSWORD_AUTH (scripts/token); every other workspace accepts SRP only.
  password_auth = true
}

# The retry policy scaled down for the tests: 5 receives of 2 s doubling (a retry budget of 30 s, 1/72 of the
# default 36 min 15 s), so a message failing for good reaches its DLQ within a minute.
# The images queue has a batching window: the uploads of a few seconds are worked on in the same batch, as a
# busy queue's would be in AWS (the memory test's five huge PNGs land in one or two batches).
queues = {
  images = {
    function_timeout_seconds   = 60
    visibility_timeout_seconds = 360
    memory_mb                  = 1024
    batch_size                 = 5
    maximum_concurrency        = 4
    batching_window_seconds    = 3
    max_receive_count          = 5
    backoff_base_seconds       = 2
    backoff_max_seconds        = 300
  }
  # A message can be a chunk of up to 25 recipients (the worker's CHUNK), and the work of an invocation
  # is its batch's: one message each keeps it to <= 25 recipients x 2 channels (a batch of ten chunks
  # took 16 s of the 30 s timeout on the local stack). Lambda requests cost $0.20 per million.
  notifications = {
    batch_size           = 1
    max_receive_count    = 5
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
  expiries = {
    max_receive_count    = 5
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
  "auction-closes" = {
    max_receive_count    = 5
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
  index = {
    max_receive_count    = 5
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
}

# The stream publisher scaled down likewise: an invocation retries a refusing bus for 2 s, and Lambda retries
# the batch 5 times (a budget of 12 s plus the runner's pauses between tries, about 25 s; the default is
# 101 x 20 s = 33 min 40 s), so a record that can never be published reaches the outbox DLQ within seconds.
stream_publisher = {
  retry_attempts       = 5
  retry_window_seconds = 2
}

# moto deploys a distribution at once; there is nothing to wait for.
cdn = {
  wait_for_deployment = false
}

# Users' notices. The emulator checks the shape of the credentials, not their truth: these are placeholders
# (no push reaches a phone from the local stack; the tests read what SNS and SES were asked to deliver).
push_credentials = {
  apns = {
    signing_key    = "local-stack-placeholder-p8-key"
    signing_key_id = "LOCALKEY01"
    team_id        = "LOCALTEAM1"
    bundle_id      = "app.ecobid.local"
    sandbox        = true
  }
  fcm = {
    service_account_json = "{\"type\": \"service_account\", \"project_id\": \"ecobid-local\"}"
  }
}
# One sender identity per workspace: an SES identity is the account's, and the tests apply three workspaces
# side by side in one account.
email = {
  from          = "EcoBid <no-reply-{workspace}@ecobid.local>"
  verify_domain = false
}
# The pickup reminder comes 10 s (not an hour) before a confirmed pickup, so a test sees it.
pickup_reminder_lead_seconds = 10
