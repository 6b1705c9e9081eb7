# terraform workspace select dev && terraform apply -var-file=env/dev.tfvars
aws_region             = "eu-west-1"
lambda_architecture    = "x86_64"
log_level              = "DEBUG"
log_retention_days     = 14
point_in_time_recovery = false
deletion_protection    = false
force_destroy_buckets  = true

# Users' email notices come from this sender; its domain is verified with DKIM (publish the CNAMEs of the
# output notifications.email_dkim_tokens). Push credentials: push_credentials_secret_id (docs/deploying.md).
email = {
  from = "EcoBid (dev) <no-reply@dev.ecobid.example>"
}
