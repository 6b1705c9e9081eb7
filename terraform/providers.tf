locals {
  # The local stack points every service at one emulator endpoint (moto server).
  emulated = var.aws_endpoint_url != null
}

provider "aws" {
  region = var.aws_region

  # Against the emulator: fake credentials and no AWS-only checks. In AWS: the standard credential chain.
  access_key                  = local.emulated ? "test" : null
  secret_key                  = local.emulated ? "test" : null
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_region_validation      = local.emulated
  s3_use_path_style           = local.emulated
  # Kept false even locally: the emulator answers GetCallerIdentity, and ARNs built from the account stay right.
  skip_requesting_account_id = false

  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint_url] : []
    content {
      apigatewayv2 = endpoints.value
      cloudfront   = endpoints.value
      cloudwatch   = endpoints.value
      cognitoidp   = endpoints.value
      dynamodb     = endpoints.value
      events       = endpoints.value
      iam          = endpoints.value
      lambda       = endpoints.value
      logs         = endpoints.value
      s3           = endpoints.value
      scheduler    = endpoints.value
      sns          = endpoints.value
      sqs          = endpoints.value
      sts          = endpoints.value
    }
  }

  default_tags {
    tags = {
      Project     = "ecobid"
      Environment = terraform.workspace
      ManagedBy   = "terraform"
    }
  }
}
