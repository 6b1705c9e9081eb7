output "media_base_url" {
  description = "Base URL of the thumbnails (https://<domain>): a thumbnail is at <media_base_url>/<key>."
  value       = "https://${local.media_host}"
}

output "distribution_arn" {
  description = "ARN of the distribution (the thumbnails bucket's policy grants it, and only it, s3:GetObject)."
  value       = aws_cloudfront_distribution.this.arn
}

output "distribution_id" {
  description = "Id of the distribution."
  value       = aws_cloudfront_distribution.this.id
}

output "domain_name" {
  description = "CloudFront's domain name of the distribution."
  value       = aws_cloudfront_distribution.this.domain_name
}
