#### Origin Access Control: CloudFront signs its requests to the private bucket ################

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name_prefix}-thumbnails"
  description                       = "CloudFront reads the thumbnails bucket (SigV4), nothing else does."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

#### The distribution: HTTPS only, immutable thumbnails cached long ##########################

resource "aws_cloudfront_distribution" "this" {
  enabled         = true
  comment         = "${var.name_prefix}-thumbnails"
  price_class     = var.price_class
  aliases         = var.aliases
  http_version    = "http2and3"
  is_ipv6_enabled = true

  origin {
    origin_id                = "thumbnails"
    domain_name              = var.origin_bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  default_cache_behavior {
    target_origin_id       = "thumbnails"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = var.cache_policy_id
    # JPEGs do not compress further.
    compress = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    # With the default *.cloudfront.net certificate CloudFront sets the security policy to TLSv1 whatever is
    # asked (and answers TLSv1: asking for more would plan a change forever); with a custom domain and its
    # certificate, the floor is minimum_protocol_version.
    minimum_protocol_version = var.acm_certificate_arn == null ? "TLSv1" : var.minimum_protocol_version
  }

  wait_for_deployment = var.wait_for_deployment
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = length(var.aliases) == 0 || var.acm_certificate_arn != null
      error_message = "aliases need acm_certificate_arn: CloudFront serves a custom domain only with its certificate."
    }
  }
}

locals {
  # What the API prefixes thumbnail keys with: the custom domain if there is one, else CloudFront's.
  media_host = length(var.aliases) > 0 ? var.aliases[0] : aws_cloudfront_distribution.this.domain_name
}
