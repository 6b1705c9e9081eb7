//! A local user of the emulator's user pool and a token for it: what the mobile app gets from Cognito.

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, MessageActionType};
use aws_sdk_cognitoidentityprovider::Client;

/// Creates the user if need be, sets its password and signs it in; returns (ID token, access token).
pub async fn token(
    aws: &SdkConfig,
    user_pool_id: &str,
    client_id: &str,
    username: &str,
    password: &str,
    email: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let cognito = Client::new(aws);
    let mut create = cognito
        .admin_create_user()
        .user_pool_id(user_pool_id)
        .username(username)
        .message_action(MessageActionType::Suppress);
    if let Some(email) = email {
        // Verified, as a sign-up that confirmed its code would be: the API keeps only verified addresses.
        for (name, value) in [("email", email), ("email_verified", "true")] {
            create =
                create.user_attributes(AttributeType::builder().name(name).value(value).build()?);
        }
    }
    match create.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_username_exists_exception()) => {}
        Err(e) => {
            return Err(e).with_context(|| format!("creating user {username} in {user_pool_id}"))
        }
    }
    cognito
        .admin_set_user_password()
        .user_pool_id(user_pool_id)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .with_context(|| format!("setting the password of {username}"))?;
    let auth = cognito
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .with_context(|| format!("signing {username} in with client {client_id}"))?;
    let result = auth
        .authentication_result()
        .context("the user pool answered with a challenge, not tokens")?;
    Ok((
        result.id_token().unwrap_or_default().to_owned(),
        result.access_token().unwrap_or_default().to_owned(),
    ))
}
