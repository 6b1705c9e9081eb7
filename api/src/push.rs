//! Push devices: an SNS platform endpoint per token where the platform's application is configured
//! (`PUSH_APPLICATION_ARN_IOS` / `_ANDROID`); where none is, the device is only recorded.

use std::collections::HashMap;

use async_trait::async_trait;
use domain::profile::Platform;

#[async_trait]
pub trait Push: Send + Sync {
    /// The endpoint ARN for this token, or None where no platform application is configured.
    async fn endpoint(
        &self,
        platform: Platform,
        token: &str,
        user_id: &str,
    ) -> Result<Option<String>, String>;
}

/// No platform application anywhere: devices are recorded only.
pub struct RecordOnly;

#[async_trait]
impl Push for RecordOnly {
    async fn endpoint(&self, _: Platform, _: &str, _: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

pub struct SnsPush {
    client: aws_sdk_sns::Client,
    applications: HashMap<Platform, String>,
}

impl SnsPush {
    pub fn new(client: aws_sdk_sns::Client, applications: HashMap<Platform, String>) -> Self {
        Self {
            client,
            applications,
        }
    }
}

#[async_trait]
impl Push for SnsPush {
    async fn endpoint(
        &self,
        platform: Platform,
        token: &str,
        user_id: &str,
    ) -> Result<Option<String>, String> {
        let Some(application) = self.applications.get(&platform) else {
            return Ok(None);
        };
        // CreatePlatformEndpoint is idempotent for the same token and attributes.
        let out = self
            .client
            .create_platform_endpoint()
            .platform_application_arn(application)
            .token(token)
            .custom_user_data(user_id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "CreatePlatformEndpoint failed: {}",
                    aws_sdk_sns::error::DisplayErrorContext(e)
                )
            })?;
        Ok(out.endpoint_arn)
    }
}
