//! The domain's [`Store`] on the single DynamoDB table of DOMAIN.md.
//!
//! | record | PK | SK | indexes |
//! |---|---|---|---|
//! | item | `ITEM#id` | `METADATA` | GSI1 `GEO#<geohash4>` / GSI2 `CAT#<category>` (only while listed), GSI3 `SELLER#id` |
//! | reservation | `ITEM#itemId` | `RESERVATION#id` | |
//! | auction | `AUCTION#id` | `METADATA` | |
//! | bid | `AUCTION#id` | `BID#<amount>#bidId` | |
//! | profile | `USER#id` | `PROFILE` | GSI1 `HOME#<geohash5>` (once a home is set) |
//! | device | `USER#id` | `DEVICE#<token hash>` | |
//! | rating | `RATING#rateeId` | `FROM#raterId#about` | |
//!
//! Entities are stored as their serde form (`serde_dynamo`) plus keys and a `version` ([`records`], keys in
//! [`keys`]). A [`Change`] is one `TransactWriteItems` ([`commit`]): each replacing write is conditional on the
//! version it was decided from (or on the record being new), new bids and ratings on not existing, and the
//! change's events go in as outbox items. Reads are in [`queries`]; what the notifications worker reads about
//! users (the port `domain::notify::Directory`) in [`directory`].
//!
//! Bids sort by amount, not by time as DOMAIN.md's table has it: each accepted bid tops the one before, so the
//! amount orders them exactly as they were accepted, where two bids in one millisecond (or a bid decided again
//! after a race) would leave time order ambiguous.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use domain::auction::{Auction, Bid};
use domain::item::Item;
use domain::profile::{Device, UserProfile};
use domain::reservation::Reservation;
use domain::store::*;
use tracing::instrument;

mod commit;
mod directory;
mod keys;
mod queries;
mod records;

use keys::*;
use records::*;

/// The table, as the domain's store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    #[instrument(skip(self), err)]
    async fn item(&self, id: &str) -> Result<Option<Versioned<Item>>, StoreError> {
        self.get(item_key(id)).await?.map(versioned).transpose()
    }

    #[instrument(skip(self), err)]
    async fn reservation(
        &self,
        item_id: &str,
        id: &str,
    ) -> Result<Option<Versioned<Reservation>>, StoreError> {
        self.get(reservation_key(item_id, id))
            .await?
            .map(versioned)
            .transpose()
    }

    #[instrument(skip(self), err)]
    async fn auction(&self, id: &str) -> Result<Option<Versioned<Auction>>, StoreError> {
        self.get(auction_key(id)).await?.map(versioned).transpose()
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        self.user_devices(user_id).await
    }

    #[instrument(skip(self), err)]
    async fn profile(&self, user_id: &str) -> Result<Option<UserProfile>, StoreError> {
        match self.get(profile_key(user_id)).await? {
            Some(attrs) => Ok(Some(from_attrs::<ProfileRecord>(attrs)?.into())),
            None => Ok(None),
        }
    }

    async fn bids(
        &self,
        auction_id: &str,
        below: Option<i64>,
        limit: usize,
    ) -> Result<Page<Bid>, StoreError> {
        self.bid_page(auction_id, below, limit).await
    }

    async fn browse(&self, query: &BrowseQuery) -> Result<Page<Item>, StoreError> {
        self.browse_items(query).await
    }

    async fn stale_listings(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.stale_ids(now, limit).await
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.commit_change(change).await
    }
}
