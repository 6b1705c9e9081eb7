variable "name_prefix" {
  description = "Prefix of every name, project and workspace: e.g. ecobid-dev."
  type        = string
}

variable "origin_bucket_regional_domain_name" {
  description = "Regional domain name of the thumbnails bucket (the only origin; the uploads bucket is never behind the CDN)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+\\.s3\\.[a-z0-9-]+\\.amazonaws\\.com$", var.origin_bucket_regional_domain_name))
    error_message = "origin_bucket_regional_domain_name must be a bucket's regional domain name, <bucket>.s3.<region>.amazonaws.com."
  }
}

variable "price_class" {
  description = "Which edge locations serve the thumbnails (PriceClass_100: North America and Europe, the cheapest)."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cache_policy_id" {
  description = "Cache policy of the distribution. Default: AWS's managed CachingOptimized (658327ea-…), which honours the objects' Cache-Control (the images worker writes public, max-age=31536000, immutable: a changed photo gets a new key, never an overwrite) up to a year."
  type        = string
  default     = "658327ea-f89d-4fab-a63d-7e88639e58f6"
}

variable "aliases" {
  description = "Custom domain names of the media (e.g. media.example.com); empty: CloudFront's own domain. Needs acm_certificate_arn."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate (in us-east-1) for the custom domain names; null: CloudFront's default certificate."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate in us-east-1 (CloudFront takes certificates from there only)."
  }
}

variable "minimum_protocol_version" {
  description = "The lowest TLS version viewers may use, with a custom domain and its certificate (CloudFront's default certificate always gets TLSv1: the cloudfront.net domain's own policy)."
  type        = string
  default     = "TLSv1.2_2021"

  validation {
    condition     = contains(["TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.3_2025"], var.minimum_protocol_version)
    error_message = "minimum_protocol_version must be TLSv1.2_2019, TLSv1.2_2021 or TLSv1.3_2025."
  }
}

variable "wait_for_deployment" {
  description = "Whether apply waits until the distribution is deployed to every edge (minutes in AWS)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
