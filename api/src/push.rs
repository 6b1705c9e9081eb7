//! Push devices: one SNS platform endpoint per token, in the platform application Terraform made from the
//! platform's credentials (`PUSH_APPLICATION_ARN_IOS` / `_ANDROID`). A platform without one is off: its
//! devices are refused (422), never silently recorded.
//!
//! Registration follows SNS's guidance for mobile tokens: `CreatePlatformEndpoint` (idempotent for the same
//! token and attributes), then read the endpoint and set what differs (re-enable it, the token, the user).
//! SNS refuses to create an endpoint for a token that already has one with other attributes (the same phone
//! signed in with another account): that endpoint is taken over for the caller, and its previous user is
//! named so their device record goes.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sns::error::ProvideErrorMetadata;
use domain::profile::Platform;

/// A token's endpoint, and the user it was registered to before, if another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub endpoint_arn: String,
    pub previous_owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// No platform application for this platform: push is off for it.
    #[error("push to {0} devices is not configured in this deployment")]
    PlatformOff(Platform),
    /// SNS refused the token itself (`InvalidParameter`): not one the platform gives.
    #[error("the push service refused this token: {0}")]
    TokenRefused(String),
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait Push: Send + Sync {
    /// Creates or updates the endpoint of `token` for `user_id`.
    async fn register(
        &self,
        platform: Platform,
        token: &str,
        user_id: &str,
    ) -> Result<Registration, PushError>;
    /// Deletes an endpoint (idempotent).
    async fn unregister(&self, endpoint_arn: &str) -> Result<(), PushError>;
}

pub struct SnsPush {
    client: aws_sdk_sns::Client,
    applications: HashMap<Platform, String>,
}

impl SnsPush {
    /// `applications`: the platform applications configured; a platform missing is off.
    pub fn new(client: aws_sdk_sns::Client, applications: HashMap<Platform, String>) -> Self {
        Self {
            client,
            applications,
        }
    }
}

fn failed(operation: &str, e: impl std::error::Error + 'static) -> PushError {
    PushError::Failed(format!("{operation}: {}", domain::error::chain(&e)))
}

/// The endpoint SNS names in "Invalid parameter: Token Reason: Endpoint <arn> already exists with the same
/// Token, but different attributes."
pub fn existing_endpoint(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("Endpoint ")?;
    let (arn, _) = rest.split_once(" already exists")?;
    arn.starts_with("arn:").then_some(arn.trim())
}

#[async_trait]
impl Push for SnsPush {
    async fn register(
        &self,
        platform: Platform,
        token: &str,
        user_id: &str,
    ) -> Result<Registration, PushError> {
        let application = self
            .applications
            .get(&platform)
            .ok_or(PushError::PlatformOff(platform))?;
        let created = self
            .client
            .create_platform_endpoint()
            .platform_application_arn(application)
            .token(token)
            .custom_user_data(user_id)
            .send()
            .await;
        let endpoint_arn = match created {
            Ok(out) => out.endpoint_arn.ok_or_else(|| {
                PushError::Failed("CreatePlatformEndpoint: no EndpointArn".into())
            })?,
            Err(e) => {
                let existing = e
                    .as_service_error()
                    .filter(|s| s.code() == Some("InvalidParameter"))
                    .and_then(|s| existing_endpoint(s.message().unwrap_or_default()))
                    .map(str::to_owned);
                match (existing, e.as_service_error()) {
                    (Some(arn), _) => arn,
                    (None, Some(s)) if s.code() == Some("InvalidParameter") => {
                        return Err(PushError::TokenRefused(
                            s.message().unwrap_or("invalid token").to_owned(),
                        ))
                    }
                    (None, _) => return Err(failed("CreatePlatformEndpoint", e)),
                }
            }
        };
        let attributes = self
            .client
            .get_endpoint_attributes()
            .endpoint_arn(&endpoint_arn)
            .send()
            .await
            .map_err(|e| failed("GetEndpointAttributes", e))?
            .attributes
            .unwrap_or_default();
        let get = |k: &str| attributes.get(k).map(String::as_str);
        let previous_owner = get("CustomUserData")
            .filter(|owner| !owner.is_empty() && *owner != user_id)
            .map(str::to_owned);
        let stale = get("Token") != Some(token)
            || !get("Enabled").is_some_and(|e| e.eq_ignore_ascii_case("true"))
            || get("CustomUserData") != Some(user_id);
        if stale {
            self.client
                .set_endpoint_attributes()
                .endpoint_arn(&endpoint_arn)
                .attributes("Token", token)
                .attributes("Enabled", "true")
                .attributes("CustomUserData", user_id)
                .send()
                .await
                .map_err(|e| failed("SetEndpointAttributes", e))?;
        }
        Ok(Registration {
            endpoint_arn,
            previous_owner,
        })
    }

    async fn unregister(&self, endpoint_arn: &str) -> Result<(), PushError> {
        self.client
            .delete_endpoint()
            .endpoint_arn(endpoint_arn)
            .send()
            .await
            .map_err(|e| failed("DeleteEndpoint", e))?;
        Ok(())
    }
}

/// Push in memory, for the in-process tests and benchmarks: `platforms` are on, each token gets one endpoint
/// (moved between users as SNS would), and what was unregistered is gone.
#[derive(Debug, Default)]
pub struct MemoryPush {
    platforms: Vec<Platform>,
    endpoints: std::sync::Mutex<HashMap<String, (String, String)>>,
}

impl MemoryPush {
    pub fn new(platforms: &[Platform]) -> Self {
        Self {
            platforms: platforms.to_vec(),
            endpoints: Default::default(),
        }
    }

    /// The endpoints registered: (endpoint ARN, user).
    pub fn endpoints(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort();
        all
    }
}

#[async_trait]
impl Push for MemoryPush {
    async fn register(
        &self,
        platform: Platform,
        token: &str,
        user_id: &str,
    ) -> Result<Registration, PushError> {
        if !self.platforms.contains(&platform) {
            return Err(PushError::PlatformOff(platform));
        }
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        let arn = format!(
            "arn:aws:sns:eu-west-1:000000000000:endpoint/{platform}/app/{}",
            endpoints.len()
        );
        let entry = endpoints
            .entry(token.to_owned())
            .or_insert_with(|| (arn, user_id.to_owned()));
        let previous = std::mem::replace(&mut entry.1, user_id.to_owned());
        Ok(Registration {
            endpoint_arn: entry.0.clone(),
            previous_owner: (previous != user_id).then_some(previous),
        })
    }

    async fn unregister(&self, endpoint_arn: &str) -> Result<(), PushError> {
        self.endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (arn, _)| arn != endpoint_arn);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_sns_names_in_its_refusal_is_read() {
        let message = "Invalid parameter: Token Reason: Endpoint arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/ecobid-ios/0b6e already exists with the same Token, but different attributes.";
        assert_eq!(
            existing_endpoint(message),
            Some("arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/ecobid-ios/0b6e")
        );
        assert_eq!(existing_endpoint("Invalid parameter: Token"), None);
        assert_eq!(existing_endpoint("Endpoint x already exists"), None);
    }
}
