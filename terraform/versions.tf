terraform {
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # State lives in S3, one object per workspace (env:/<workspace>/...). Configure it at init:
  #   AWS:   terraform init -backend-config=env/backend.hcl   (copy env/backend.hcl.example)
  #   local: scripts/up writes a backend config pointing at the emulator.
  backend "s3" {}
}
