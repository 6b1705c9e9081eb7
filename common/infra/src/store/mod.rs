//! The domain's [`Store`] on the single DynamoDB table of DOMAIN.md.
//!
//! | record | PK | SK | indexes |
//! |---|---|---|---|
//! | item | `ITEM#id` | `METADATA` | GSI1 `GEO#<geohash4>` / GSI2 `CAT#<category>` (only while listed), GSI3 `SELLER#sellerId` |
//! | reservation | `ITEM#itemId` | `RESERVATION#id` | GSI3 `BUYER#buyerId`, GSI4 `SELLER#sellerId` |
//! | auction | `AUCTION#id` | `METADATA` | GSI3 `AUCTIONS#sellerId` |
//! | bid | `AUCTION#id` | `BID#<amount>#bidId` | |
//! | bidding (a bidder's part in an auction) | `USER#bidderId` | `BIDON#auctionId` | GSI3 `BIDDER#bidderId` |
//! | profile | `USER#id` | `PROFILE` | GSI1 `HOME#<geohash5>` (once a home is set) |
//! | device | `USER#id` | `DEVICE#<token hash>` | |
//! | rating | `RATING#rateeId` | `FROM#raterId#about` | GSI3 `RATED#rateeId` |
//!
//! GSI3 and GSI4 are the users' own lists (`keys::UserList`): sorted `<status>#<ms>#<id>` where a list
//! filters by status (items, reservations, auctions), `<ms>#<id>` where it does not (bidding, ratings).
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
use domain::auction::{Auction, AuctionStatus, Bid, Bidding};
use domain::item::{Item, ItemStatus};
use domain::profile::{Device, UserProfile};
use domain::rating::Rating;
use domain::reservation::{Reservation, ReservationStatus, Role};
use domain::store::*;
use tracing::instrument;

mod commit;
mod directory;
mod keys;
mod queries;
mod records;
mod search;

pub use search::DynamoIndex;

use keys::*;
use records::*;

/// The statuses a list is read in: the one asked for, or every one.
fn statuses<S: Copy>(one: Option<S>, all: &[S], text: fn(S) -> &'static str) -> Vec<&'static str> {
    match one {
        Some(s) => vec![text(s)],
        None => all.iter().copied().map(text).collect(),
    }
}

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

    async fn items(&self, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        self.batch_items(ids).await
    }

    async fn items_of(
        &self,
        seller_id: &str,
        status: Option<ItemStatus>,
        page: &Listing,
    ) -> Result<Page<Item>, StoreError> {
        let statuses = statuses(status, ItemStatus::ALL, ItemStatus::as_str);
        self.user_list(UserList::Items(seller_id), &statuses, page)
            .await
    }

    async fn reservations_of(
        &self,
        user_id: &str,
        role: Role,
        status: Option<ReservationStatus>,
        page: &Listing,
    ) -> Result<Page<Reservation>, StoreError> {
        let list = match role {
            Role::Buyer => UserList::Reserved(user_id),
            Role::Seller => UserList::ReservedFrom(user_id),
        };
        let statuses = statuses(status, ReservationStatus::ALL, ReservationStatus::as_str);
        self.user_list(list, &statuses, page).await
    }

    async fn auctions_of(
        &self,
        seller_id: &str,
        status: Option<AuctionStatus>,
        page: &Listing,
    ) -> Result<Page<Auction>, StoreError> {
        let statuses = statuses(status, AuctionStatus::ALL, AuctionStatus::as_str);
        self.user_list(UserList::Auctions(seller_id), &statuses, page)
            .await
    }

    async fn bidding_of(
        &self,
        bidder_id: &str,
        page: &Listing,
    ) -> Result<Page<Bidding>, StoreError> {
        self.user_list(UserList::Bidding(bidder_id), &[], page)
            .await
    }

    async fn ratings_of(&self, ratee_id: &str, page: &Listing) -> Result<Page<Rating>, StoreError> {
        self.user_list(UserList::Ratings(ratee_id), &[], page).await
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
