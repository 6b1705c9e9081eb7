//! Accounts: a deleted account's tokens refused, and deleting an account (`DELETE /users/me`) in two steps
//! around what lives outside the store (push endpoints, photos, the identity provider's user): first
//! [`Service::withdraw_account`] (refused while deals are under way; withdraws the listings), then
//! [`Service::close_account`] (devices and personal data go, the tombstone and `UserDeleted` stay). Each step
//! can be run again: a deletion cut short is finished by asking again.

use chrono::Duration;

use super::{Ctx, Result, Service};
use crate::auction::{AuctionStatus, Standing, MAX_AUCTION, MAX_EXTENSIONS};
use crate::error::{Conflict, DomainError};
use crate::event as ev;
use crate::item::ItemStatus;
use crate::profile::{Account, Device};
use crate::reservation::{ReservationStatus, Role};
use crate::store::*;

impl Service {
    /// Whether the caller may act: a suspended account is refused (403), a deleted account's token too (401:
    /// it stays valid at the identity provider until it expires, so the API refuses it itself).
    pub async fn admit(&self, user_id: &str) -> Result<()> {
        match self.store.profile(user_id).await? {
            Some(p) => match p.account {
                Account::Active => Ok(()),
                Account::Suspended => Err(DomainError::AccountSuspended.into()),
                Account::Deleted => Err(DomainError::AccountDeleted.into()),
            },
            None => Ok(()),
        }
    }

    /// What stands in the way of deleting an account (empty: it can go): an active reservation on either
    /// side, an open auction, a leading bid in an auction not yet closed.
    pub async fn deletion_blockers(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let user = ctx.caller.as_str();
        let one = Listing {
            after: None,
            limit: 1,
        };
        let mut why = vec![];
        for role in Role::ALL {
            for status in [ReservationStatus::Pending, ReservationStatus::Confirmed] {
                let page = self
                    .store
                    .reservations_of(user, *role, Some(status), &one)
                    .await?;
                if !page.items.is_empty() {
                    why.push(format!("a {status} reservation as {role}"));
                }
            }
        }
        let open = self
            .store
            .auctions_of(user, Some(AuctionStatus::Open), &one)
            .await?;
        if !open.items.is_empty() {
            why.push("an open auction".to_owned());
        }
        if self.leads_an_auction(ctx).await? {
            why.push("a leading bid".to_owned());
        }
        Ok(why)
    }

    /// Whether the caller leads an auction not yet closed. Their bids are read newest first, only as far
    /// back as an auction can run (its longest length and every extension): older bids are on auctions
    /// that ended.
    async fn leads_an_auction(&self, ctx: &Ctx) -> Result<bool> {
        let extensions = i32::try_from(MAX_EXTENSIONS).unwrap_or(i32::MAX);
        let horizon =
            ctx.now - MAX_AUCTION - self.settings.sniping_window * extensions - Duration::hours(1);
        let mut page = Listing {
            after: None,
            limit: 50,
        };
        loop {
            let bidding = self.store.bidding_of(&ctx.caller, &page).await?;
            for entry in bidding.items.iter().filter(|b| b.last_bid_at >= horizon) {
                if let Some(a) = self.store.auction(&entry.auction_id).await? {
                    if a.value.standing(&ctx.caller) == Standing::Leading {
                        return Ok(true);
                    }
                }
            }
            let older = bidding.items.last().is_none_or(|b| b.last_bid_at < horizon);
            match bidding.next_cursor.as_deref().and_then(Cursor::parse) {
                Some(after) if !older => page.after = Some(after),
                _ => return Ok(false),
            }
        }
    }

    /// The first step of deleting the caller's account: refused (409 `account-in-use`, with the reasons)
    /// while deals are under way; otherwise each listed item is withdrawn (ItemDeleted). Answers how many
    /// were withdrawn and the devices whose push endpoints are to go before [`Service::close_account`].
    pub async fn withdraw_account(&self, ctx: &Ctx) -> Result<(u32, Vec<Device>)> {
        let blockers = self.deletion_blockers(ctx).await?;
        if !blockers.is_empty() {
            return Err(DomainError::conflict(
                Conflict::AccountInUse,
                format!(
                    "the account has {}: finish or cancel it first",
                    blockers.join(", ")
                ),
            )
            .into());
        }
        let first = Listing {
            after: None,
            limit: 50,
        };
        let mut withdrawn = 0;
        // Each withdrawn item leaves the list, so the first page is read until it is empty.
        loop {
            let listed = self
                .store
                .items_of(&ctx.caller, Some(ItemStatus::Available), &first)
                .await?;
            if listed.items.is_empty() {
                break;
            }
            for item in &listed.items {
                self.delete_item(ctx, &item.id).await?;
                withdrawn += 1;
            }
        }
        Ok((withdrawn, self.devices(&ctx.caller).await?))
    }

    /// The last step: the caller's device records and personal data go; the profile stays as a DELETED
    /// tombstone (its tokens refused from now on, the ratings they gave attributed to a deleted user), and
    /// `UserDeleted` flows.
    pub async fn close_account(&self, ctx: &Ctx, listings_withdrawn: u32) -> Result<()> {
        let mut writes: Vec<Write> = self
            .devices(&ctx.caller)
            .await?
            .into_iter()
            .map(|d| Write::RemoveDevice {
                user_id: ctx.caller.clone(),
                token_hash: d.token_hash,
            })
            .collect();
        writes.push(Write::CloseAccount {
            user_id: ctx.caller.clone(),
        });
        let event = self.envelope(
            ctx,
            ev::UserDeleted {
                user_id: ctx.caller.clone(),
                listings_withdrawn,
            },
        );
        self.store
            .commit(Change {
                writes,
                events: vec![event],
            })
            .await?;
        Ok(())
    }
}
