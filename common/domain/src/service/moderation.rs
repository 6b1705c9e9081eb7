//! Moderation: the text screening's verdict on a listing, and a moderator taking a listing down, suspending a
//! user or reinstating them. The caller is a
//! moderator (the API lets only members of the identity provider's moderators group reach these); each
//! action is one conditional write with its event, naming who did it.

use super::{Ctx, Result, Service, Step};
use crate::auction;
use crate::error::DomainError;
use crate::event as ev;
use crate::item::{self, screening, Item};
use crate::profile::{self, Account};
use crate::store::*;

impl Service {
    /// Takes a listing down ([`item::take_down`]): the item and, when an auction is under way, the auction
    /// (ended now, so no bid is taken; its close, run at once by the auction-closes worker on ItemTakenDown,
    /// sells to nobody) in one write with ItemTakenDown. Taking down a listing that is down already changes
    /// nothing and answers it as it is.
    pub async fn take_down(&self, ctx: &Ctx, item_id: &str, reason: &str) -> Result<Item> {
        self.optimistic(|| async {
            let stored = self.item(item_id).await?;
            let Some(next) = item::take_down(&stored.value, reason, ctx.now)? else {
                return Ok(stored.value);
            };
            let mut writes = vec![Write::Item(next.clone(), Expect::Version(stored.version))];
            let mut ended = None;
            if let Some(auction_id) = &next.auction_id {
                let a = self.auction(auction_id).await?;
                if let Some(stopped) = auction::take_down(&a.value, ctx.now) {
                    writes.push(Write::Auction(stopped, Expect::Version(a.version)));
                    ended = Some(auction_id.clone());
                }
            }
            let moderation = next.moderation.as_ref();
            let event = self.envelope(
                ctx,
                ev::ItemTakenDown {
                    item_id: next.id.clone(),
                    seller_id: next.seller_id.clone(),
                    moderator_id: ctx.caller.clone(),
                    reason: moderation.map(|m| m.reason.clone()).unwrap_or_default(),
                    auction_id: ended,
                },
            );
            self.store
                .commit(Change {
                    writes,
                    events: vec![event],
                })
                .await?;
            Ok(next)
        })
        .await
    }

    /// Settles a screening of a listing's text ([`screening::screened`]): `segments` are the texts the model
    /// read and `reason` its verdict. Flagging writes the item with ItemFlagged (the seller is told why);
    /// clearing writes it back into browse. A listing whose text changed since (an edit the model has not
    /// read) or that is gone is left alone: the edit's own screening decides.
    pub async fn settle_screening(
        &self,
        ctx: &Ctx,
        item_id: &str,
        segments: &[String],
        reason: Option<String>,
    ) -> Result<Step> {
        self.optimistic(|| async {
            let Some(stored) = self.store.item(item_id).await? else {
                return Ok(Step::Settled("the item is gone"));
            };
            if screening::segments(&stored.value) != segments {
                return Ok(Step::Settled("its text changed since it was read"));
            }
            let Some(next) = screening::screened(&stored.value, reason.clone(), ctx.now) else {
                return Ok(Step::Settled("the verdict changes nothing"));
            };
            let events = match (&next.moderation, &reason) {
                (Some(m), Some(_)) => vec![self.envelope(
                    ctx,
                    ev::ItemFlagged {
                        item_id: next.id.clone(),
                        seller_id: next.seller_id.clone(),
                        reason: m.reason.clone(),
                    },
                )],
                _ => vec![],
            };
            self.store
                .commit(Change {
                    writes: vec![Write::Item(next, Expect::Version(stored.version))],
                    events,
                })
                .await?;
            Ok(Step::Done)
        })
        .await
    }

    /// Suspends a user ([`profile::suspend`]): refused 404 for a user without a profile (nobody who ever
    /// posted, reserved or bid) or a deleted one. The account it is in afterwards.
    pub async fn suspend(&self, ctx: &Ctx, user_id: &str, reason: &str) -> Result<Account> {
        let mut v = crate::error::Validator::default();
        let reason = crate::error::short_text(&mut v, reason, 500, "reason");
        v.finish()?;
        self.move_account(ctx, user_id, profile::suspend, |moderator_id| {
            ev::UserSuspended {
                user_id: user_id.to_owned(),
                moderator_id,
                reason: reason.clone(),
            }
            .into()
        })
        .await
    }

    /// Lifts a user's suspension ([`profile::reinstate`]). The account it is in afterwards.
    pub async fn reinstate(&self, ctx: &Ctx, user_id: &str) -> Result<Account> {
        self.move_account(ctx, user_id, profile::reinstate, |moderator_id| {
            ev::UserReinstated {
                user_id: user_id.to_owned(),
                moderator_id,
            }
            .into()
        })
        .await
    }

    async fn move_account(
        &self,
        ctx: &Ctx,
        user_id: &str,
        rule: fn(Account) -> std::result::Result<Option<Account>, DomainError>,
        event: impl Fn(String) -> ev::DomainEvent,
    ) -> Result<Account> {
        self.optimistic(|| async {
            let profile = self
                .store
                .profile(user_id)
                .await?
                .ok_or(DomainError::NotFound("user"))?;
            let Some(to) = rule(profile.account)? else {
                return Ok(profile.account);
            };
            let envelope = self.envelope(ctx, event(ctx.caller.clone()));
            self.store
                .commit(Change {
                    writes: vec![Write::AccountStanding {
                        user_id: user_id.to_owned(),
                        from: profile.account,
                        to,
                    }],
                    events: vec![envelope],
                })
                .await?;
            Ok(to)
        })
        .await
    }
}
