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
  #checkov:skip=CKV_AWS_68:WAF costs at least $5/month per web ACL plus rules, above the whole 1,000-user budget; the distribution serves immutable JPEG thumbnails from S3 (no code runs behind it, nothing to inject into)
  #checkov:skip=CKV2_AWS_47:No web ACL (see CKV_AWS_68); nothing behind the distribution runs Log4j or any code
  #checkov:skip=CKV_AWS_86:Standard access logs need a log bucket with ACLs enabled; CloudFront's free metrics (requests, 4xx/5xx rates) are on the dashboard, and who uploaded what is in the API's logs
  #checkov:skip=CKV_AWS_305:No root object exists: the distribution serves only thumbnail keys, and / answers 403 through Origin Access Control
  #checkov:skip=CKV_AWS_310:One origin in one region (the thumbnails bucket); a failover origin would need replicated thumbnails (see CKV_AWS_144)
  #checkov:skip=CKV2_AWS_32:Left for now: the managed SecurityHeadersPolicy (HSTS, nosniff) is worth attaching, but the emulator does not answer a behaviour's ResponseHeadersPolicyId yet, so every local plan would want to set it again (an emulator patch to come); the responses are JPEGs, which the headers protect least
  #checkov:skip=CKV_AWS_374:The marketplace serves anyone; restricting countries would hide listings' photos from their own buyers
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
