# The long outage run (scripts/test-outages): applied after local.tfvars, whose queues it replaces (a var-file
# sets a whole variable). 9 receives of 2 s doubling, capped at 5 min: a retry budget of 8 min 30 s, so the run's
# default 5-minute outage of each dependency is survived with a margin. Everything else as local.tfvars.
queues = {
  images = {
    function_timeout_seconds   = 60
    visibility_timeout_seconds = 360
    memory_mb                  = 1024
    batch_size                 = 5
    maximum_concurrency        = 4
    batching_window_seconds    = 3
    max_receive_count          = 9
    backoff_base_seconds       = 2
    backoff_max_seconds        = 300
  }
  notifications = {
    batch_size           = 1
    max_receive_count    = 9
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
  expiries = {
    max_receive_count    = 9
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
  "auction-closes" = {
    max_receive_count    = 9
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
  index = {
    max_receive_count    = 9
    backoff_base_seconds = 2
    backoff_max_seconds  = 300
  }
}
