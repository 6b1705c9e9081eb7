# terraform workspace select staging && terraform apply -var-file=env/staging.tfvars
aws_region             = "eu-west-1"
lambda_architecture    = "x86_64"
log_level              = "INFO"
log_retention_days     = 30
point_in_time_recovery = true
deletion_protection    = false
force_destroy_buckets  = false

# Users' email notices come from this sender; its domain is verified with DKIM (publish the CNAMEs of the
# output notifications.email_dkim_tokens). Push credentials: push_credentials_secret_id (docs/deploying.md).
email = {
  from = "EcoBid (staging) <no-reply@staging.ecobid.example>"
}
