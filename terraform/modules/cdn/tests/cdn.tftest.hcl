# Offline: the provider is mocked, so these check the module's own wiring and validations.
mock_provider "aws" {
  mock_resource "aws_cloudfront_distribution" {
    defaults = {
      arn         = "arn:aws:cloudfront::123456789012:distribution/E2TESTDIST"
      id          = "E2TESTDIST"
      domain_name = "d111111abcdef8.cloudfront.net"
    }
  }
}

variables {
  name_prefix                        = "ecobid-test"
  origin_bucket_regional_domain_name = "ecobid-test-thumbnails.s3.eu-west-1.amazonaws.com"
}

run "the_thumbnails_bucket_is_the_only_origin_through_origin_access_control" {
  command = apply

  assert {
    condition     = length(aws_cloudfront_distribution.this.origin) == 1
    error_message = "One origin: the thumbnails bucket."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.origin).domain_name == var.origin_bucket_regional_domain_name
    error_message = "The origin is the thumbnails bucket's regional domain."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.origin).origin_access_control_id == aws_cloudfront_origin_access_control.this.id
    error_message = "The origin is read through the module's Origin Access Control."
  }
  assert {
    condition     = aws_cloudfront_origin_access_control.this.signing_behavior == "always" && aws_cloudfront_origin_access_control.this.signing_protocol == "sigv4" && aws_cloudfront_origin_access_control.this.origin_access_control_origin_type == "s3"
    error_message = "CloudFront always signs its S3 requests with SigV4."
  }
  assert {
    condition     = output.media_base_url == "https://d111111abcdef8.cloudfront.net"
    error_message = "Without a custom domain the media are served from CloudFront's own domain, over HTTPS."
  }
  assert {
    condition     = output.distribution_arn == "arn:aws:cloudfront::123456789012:distribution/E2TESTDIST"
    error_message = "The distribution's ARN is an output (the bucket policy grants it)."
  }
}

run "viewers_are_sent_to_https_and_only_read" {
  command = plan

  assert {
    condition     = one(aws_cloudfront_distribution.this.default_cache_behavior).viewer_protocol_policy == "redirect-to-https"
    error_message = "HTTP is redirected to HTTPS."
  }
  assert {
    condition     = toset(one(aws_cloudfront_distribution.this.default_cache_behavior).allowed_methods) == toset(["GET", "HEAD"])
    error_message = "Viewers may only read."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.default_cache_behavior).cache_policy_id == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    error_message = "The default cache policy is AWS's managed CachingOptimized."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.viewer_certificate).cloudfront_default_certificate && one(aws_cloudfront_distribution.this.viewer_certificate).minimum_protocol_version == "TLSv1"
    error_message = "CloudFront's default certificate, with the policy CloudFront gives it."
  }
  assert {
    condition     = aws_cloudfront_distribution.this.price_class == "PriceClass_100"
    error_message = "The cheapest price class by default."
  }
}

run "a_custom_domain_uses_its_certificate_and_a_tls_floor" {
  command = plan

  variables {
    aliases             = ["media.example.com"]
    acm_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/0b2f4a1e-1111-2222-3333-444455556666"
    price_class         = "PriceClass_All"
  }

  assert {
    condition     = output.media_base_url == "https://media.example.com"
    error_message = "With a custom domain the media are served from it."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.viewer_certificate).acm_certificate_arn == var.acm_certificate_arn && one(aws_cloudfront_distribution.this.viewer_certificate).ssl_support_method == "sni-only"
    error_message = "The custom domain is served with its ACM certificate (SNI)."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.viewer_certificate).minimum_protocol_version == "TLSv1.2_2021"
    error_message = "A custom domain gets a TLS 1.2 floor by default."
  }
  assert {
    condition     = aws_cloudfront_distribution.this.price_class == "PriceClass_All"
    error_message = "The price class comes from the variable."
  }
}

run "a_custom_domain_without_a_certificate_is_refused" {
  command = plan

  variables {
    aliases = ["media.example.com"]
  }

  expect_failures = [aws_cloudfront_distribution.this]
}

run "a_certificate_outside_us_east_1_is_refused" {
  command = plan

  variables {
    aliases             = ["media.example.com"]
    acm_certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b2f4a1e-1111-2222-3333-444455556666"
  }

  expect_failures = [var.acm_certificate_arn]
}

run "an_unknown_price_class_is_refused" {
  command = plan

  variables {
    price_class = "PriceClass_Cheapest"
  }

  expect_failures = [var.price_class]
}

run "an_origin_that_is_not_a_bucket_is_refused" {
  command = plan

  variables {
    origin_bucket_regional_domain_name = "ecobid-test-uploads.example.com"
  }

  expect_failures = [var.origin_bucket_regional_domain_name]
}
