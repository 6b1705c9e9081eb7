output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Base URL of the HTTP API."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "user_pool_id" {
  description = "Id of the Cognito user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the Cognito user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "user_pool_client_id" {
  description = "Id of the mobile app's user pool client (the JWT audience)."
  value       = aws_cognito_user_pool_client.mobile.id
}

output "jwt_issuer" {
  description = "Issuer the JWT authorizer accepts."
  value       = aws_apigatewayv2_authorizer.jwt.jwt_configuration[0].issuer
}

output "moderators_group" {
  description = "Name of the user pool group whose members the API serves the /admin routes."
  value       = aws_cognito_user_group.moderators.name
}
