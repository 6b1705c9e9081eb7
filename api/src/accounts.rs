//! What an account's deletion removes outside the table: the user's photos (their uploads under
//! `uploads/<user>/` and their thumbnails under `<user>/`, as the images worker keys them) and the identity
//! provider's user. Both are idempotent, so a deletion cut short is finished by asking again.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::operation::admin_delete_user::AdminDeleteUserError;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

#[async_trait]
pub trait Accounts: Send + Sync {
    /// Deletes every photo object of the user (uploads and thumbnails); how many went.
    async fn erase_photos(&self, user_id: &str) -> Result<usize, String>;
    /// Deletes the user from the identity provider (done when it is already gone).
    async fn delete_identity(&self, user_id: &str) -> Result<(), String>;
}

pub struct AwsAccounts {
    pub s3: aws_sdk_s3::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub user_pool_id: String,
    pub uploads_bucket: String,
    pub uploads_prefix: String,
    pub thumbnails_bucket: String,
}

impl AwsAccounts {
    /// Deletes every object under `prefix`: a page of at most 1,000 keys listed, then deleted in one request.
    async fn erase_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, String> {
        let mut erased = 0;
        loop {
            // Each page is deleted before the next listing, which so starts from the first remaining key.
            let listed = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "listing s3://{bucket}/{prefix}: {}",
                        domain::error::chain(&e)
                    )
                })?;
            let keys: Vec<ObjectIdentifier> = listed
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            if keys.is_empty() {
                return Ok(erased);
            }
            let count = keys.len();
            let delete = Delete::builder()
                .set_objects(Some(keys))
                .quiet(true)
                .build()
                .map_err(|e| e.to_string())?;
            let out = self
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "deleting in s3://{bucket}/{prefix}: {}",
                        domain::error::chain(&e)
                    )
                })?;
            if let Some(failed) = out.errors().first() {
                return Err(format!(
                    "deleting s3://{bucket}/{}: {}",
                    failed.key().unwrap_or("?"),
                    failed.message().unwrap_or("refused")
                ));
            }
            erased += count;
        }
    }
}

#[async_trait]
impl Accounts for AwsAccounts {
    async fn erase_photos(&self, user_id: &str) -> Result<usize, String> {
        let uploads = self
            .erase_prefix(
                &self.uploads_bucket,
                &format!("{}{user_id}/", self.uploads_prefix),
            )
            .await?;
        let thumbnails = self
            .erase_prefix(&self.thumbnails_bucket, &format!("{user_id}/"))
            .await?;
        Ok(uploads + thumbnails)
    }

    async fn delete_identity(&self, user_id: &str) -> Result<(), String> {
        // The pool signs users in by email, so a user's username is their `sub`, which AdminDeleteUser takes.
        match self
            .cognito
            .admin_delete_user()
            .user_pool_id(&self.user_pool_id)
            .username(user_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(AdminDeleteUserError::UserNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(format!(
                "deleting the user from the pool: {}",
                domain::error::chain(&e)
            )),
        }
    }
}

/// In memory, for the API's tests: what was erased and deleted.
#[derive(Default)]
pub struct MemoryAccounts {
    pub erased: std::sync::Mutex<Vec<String>>,
    pub deleted: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl Accounts for MemoryAccounts {
    async fn erase_photos(&self, user_id: &str) -> Result<usize, String> {
        self.erased
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(user_id.to_owned());
        Ok(0)
    }

    async fn delete_identity(&self, user_id: &str) -> Result<(), String> {
        self.deleted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(user_id.to_owned());
        Ok(())
    }
}
