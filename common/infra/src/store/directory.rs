//! What the notifications worker reads about users (`domain::notify::Directory`): who lives near a new
//! item (GSI1 `HOME#<geohash5>`), a user's address, preferences and devices, and forgetting a dead device.

use async_trait::async_trait;
use domain::notify::Recipient;
use domain::profile::Device;
use domain::store::{Store, StoreError};
use tracing::instrument;

use super::keys::*;
use super::records::from_attrs;
use super::DynamoStore;
use crate::aws_error::to_store_error;
use futures::future::try_join_all;

#[async_trait]
impl domain::notify::Directory for DynamoStore {
    #[instrument(skip(self), err)]
    async fn users_near(&self, cells: &[String]) -> Result<Vec<String>, StoreError> {
        let per_cell = try_join_all(cells.iter().map(|cell| async move {
            let mut ids = vec![];
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("GSI1")
                    .key_condition_expression("GSI1PK = :pk")
                    .expression_attribute_values(":pk", s(format!("HOME#{cell}")))
                    .projection_expression("id")
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(to_store_error)?;
                ids.extend(
                    out.items
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|mut a| a.remove("id")?.as_s().ok().cloned()),
                );
                start = out.last_evaluated_key;
                if start.is_none() {
                    return Ok::<_, StoreError>(ids);
                }
            }
        }))
        .await?;
        let mut ids: Vec<String> = per_cell.into_iter().flatten().collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    #[instrument(skip(self), err)]
    async fn recipient(&self, user_id: &str) -> Result<Recipient, StoreError> {
        let (profile, devices) =
            futures::try_join!(Store::profile(self, user_id), self.user_devices(user_id))?;
        let profile = profile.unwrap_or_default();
        Ok(Recipient {
            user_id: user_id.to_owned(),
            email: profile.email,
            preferences: profile.notifications,
            devices,
        })
    }

    #[instrument(skip(self), err)]
    async fn forget_device(&self, user_id: &str, token_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(device_key(user_id, token_hash)))
            .send()
            .await
            .map_err(to_store_error)?;
        Ok(())
    }
}

impl DynamoStore {
    /// A user's devices (strongly consistent: a device just registered is pushed to).
    pub(super) async fn user_devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :device)")
            .expression_attribute_values(":pk", s(format!("USER#{user_id}")))
            .expression_attribute_values(":device", s("DEVICE#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(to_store_error)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs::<Device>)
            .collect()
    }
}
