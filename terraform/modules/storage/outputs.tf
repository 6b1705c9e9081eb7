output "table_name" {
  description = "Name of the single table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the single table."
  value       = aws_dynamodb_table.this.arn
}

output "table_stream_arn" {
  description = "ARN of the table's stream (NEW_AND_OLD_IMAGES), the outbox."
  value       = aws_dynamodb_table.this.stream_arn
}

output "uploads_bucket" {
  description = "Name of the bucket photos are uploaded to (presigned POST)."
  value       = aws_s3_bucket.this["uploads"].id
}

output "uploads_bucket_arn" {
  description = "ARN of the uploads bucket."
  value       = aws_s3_bucket.this["uploads"].arn
}

output "thumbnails_bucket" {
  description = "Name of the bucket thumbnails are written to."
  value       = aws_s3_bucket.this["thumbnails"].id
}

output "thumbnails_bucket_arn" {
  description = "ARN of the thumbnails bucket."
  value       = aws_s3_bucket.this["thumbnails"].arn
}

output "thumbnails_bucket_regional_domain_name" {
  description = "Regional domain name of the thumbnails bucket (the CDN's origin)."
  value       = aws_s3_bucket.this["thumbnails"].bucket_regional_domain_name
}

output "uploads_prefix" {
  description = "Key prefix of photo uploads."
  value       = var.uploads_prefix
}

output "search_table_name" {
  description = "The search index's table (terms to listings)."
  value       = aws_dynamodb_table.search.name
}

output "search_table_arn" {
  description = "ARN of the search index's table."
  value       = aws_dynamodb_table.search.arn
}
