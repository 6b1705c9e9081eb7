//! What a user sees of themselves and of others: their own lists (items, reservations on either side,
//! auctions, the auctions they bid on with where they stand), public profiles and the ratings a user received.

use futures::future::try_join_all;

use super::{Result, Service};
use crate::auction::{AuctionStatus, BidStanding};
use crate::error::DomainError;
use crate::item::{Item, ItemStatus};
use crate::profile::PublicProfile;
use crate::rating::Rating;
use crate::reservation::{Reservation, ReservationStatus, Role};
use crate::store::*;

impl Service {
    /// A seller's items, of one status or all, newest first.
    pub async fn items_of(
        &self,
        user_id: &str,
        status: Option<ItemStatus>,
        page: &Listing,
    ) -> Result<Page<Item>> {
        Ok(self.store.items_of(user_id, status, page).await?)
    }

    /// The reservations a user made (buyer) or received on their items (seller), newest first.
    pub async fn reservations_of(
        &self,
        user_id: &str,
        role: Role,
        status: Option<ReservationStatus>,
        page: &Listing,
    ) -> Result<Page<Reservation>> {
        Ok(self
            .store
            .reservations_of(user_id, role, status, page)
            .await?)
    }

    /// A seller's auctions, newest first.
    pub async fn auctions_of(
        &self,
        user_id: &str,
        status: Option<AuctionStatus>,
        page: &Listing,
    ) -> Result<Page<crate::auction::Auction>> {
        Ok(self.store.auctions_of(user_id, status, page).await?)
    }

    /// Each auction a user bid on, most recently bid first, with their highest bid and where they stand
    /// (read from the auction as it is now: a page reads one auction per entry).
    pub async fn bids_of(&self, user_id: &str, page: &Listing) -> Result<Page<BidStanding>> {
        let bidding = self.store.bidding_of(user_id, page).await?;
        let auctions = try_join_all(
            bidding
                .items
                .iter()
                .map(|b| self.store.auction(&b.auction_id)),
        )
        .await?;
        let items = bidding
            .items
            .into_iter()
            .zip(auctions)
            // An auction is never deleted; were one missing, its entry would say nothing true.
            .filter_map(|(b, a)| a.map(|a| BidStanding::new(a.value, &b)))
            .collect();
        Ok(Page {
            items,
            next_cursor: bidding.next_cursor,
        })
    }

    /// What anyone may see of a user; 404 for a user who never kept anything here or deleted their account.
    pub async fn public_profile(&self, user_id: &str) -> Result<PublicProfile> {
        let profile = self
            .store
            .profile(user_id)
            .await?
            .filter(|p| p.account != crate::profile::Account::Deleted)
            .ok_or(DomainError::NotFound("user"))?;
        Ok(PublicProfile::from(&profile))
    }

    /// The ratings a user received, newest first.
    pub async fn ratings_of(&self, user_id: &str, page: &Listing) -> Result<Page<Rating>> {
        Ok(self.store.ratings_of(user_id, page).await?)
    }
}
