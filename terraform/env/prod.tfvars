# terraform workspace select prod && terraform apply -var-file=env/prod.tfvars
aws_region             = "eu-west-1"
lambda_architecture    = "x86_64"
log_level              = "INFO"
log_retention_days     = 90
point_in_time_recovery = true
deletion_protection    = true
force_destroy_buckets  = false
admin_alert_emails     = []

api = {
  throttling_rate_limit  = 500
  throttling_burst_limit = 1000
}

# Users' email notices come from this sender; its domain is verified with DKIM (publish the CNAMEs of the
# output notifications.email_dkim_tokens). Push credentials: push_credentials_secret_id (docs/deploying.md).
email = {
  from = "EcoBid <no-reply@ecobid.example>"
}
