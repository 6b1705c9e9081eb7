//! The workers' use-cases: a reservation's or listing's expiry, an auction's close, a photo's outcome. Each
//! reads, decides with `lifecycle`, and writes the decision and its events as one conditional change; a
//! redelivered message finds the work done ([`Step::Settled`]), a schedule that fired early is told when to
//! come back ([`Step::NotDue`]). Stats move in the same write as the state change that earns them, so exactly
//! once per deal.

use chrono::{DateTime, Utc};

use super::{reservation_ref, Ctx, Result, Service};
use crate::error::DomainError;
use crate::events as ev;
use crate::lifecycle::{self, Decision, Due, PhotoOutcome, PhotoRef, Scheduled, Schedules};
use crate::model::*;
use crate::store::*;

/// What a worker's step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The change and its events are stored.
    Done,
    /// Nothing to do (already done, or overtaken): why.
    Settled(&'static str),
    /// Not yet: the step is due at this time.
    NotDue(DateTime<Utc>),
}

/// The step of a decision that does not act.
fn idle<T>(d: &Decision<T>) -> Step {
    match d {
        Decision::Act(_) => Step::Done,
        Decision::NotDue(at) => Step::NotDue(*at),
        Decision::Settled(why) => Step::Settled(why),
    }
}

/// Bids read per page when listing an auction's bidders.
const BIDS_PAGE: usize = 100;
/// Listings the daily sweep expires per round, and its rounds per run (the rest waits for the next day).
const SWEEP_PAGE: usize = 100;
const SWEEP_ROUNDS: usize = 20;

impl Service {
    /// Arms the one-time schedule of `due` at `at`, carrying the context's correlation id; a time already
    /// past runs the step now.
    pub async fn arm(
        &self,
        ctx: &Ctx,
        schedules: &dyn Schedules,
        due: Due,
        at: DateTime<Utc>,
    ) -> Result<Step> {
        let step = Scheduled {
            due,
            correlation_id: Some(ctx.correlation.to_string()),
        };
        if at <= ctx.now {
            return self.run_due(ctx, schedules, &step).await;
        }
        schedules
            .schedule(&step.due.schedule_name(), &step, at)
            .await?;
        Ok(Step::NotDue(at))
    }

    /// Cancels the pending schedule of `due` (the deal completed or was cancelled).
    pub async fn disarm(&self, schedules: &dyn Schedules, due: &Due) -> Result<()> {
        Ok(schedules.cancel(&due.schedule_name()).await?)
    }

    /// Runs a step whose schedule fired; one not due yet (endsAt moved) is re-armed for its time.
    pub async fn run_due(
        &self,
        ctx: &Ctx,
        schedules: &dyn Schedules,
        step: &Scheduled,
    ) -> Result<Step> {
        let outcome = match &step.due {
            Due::ReservationExpiry { reservation_id } => {
                self.expire_reservation(ctx, reservation_id).await?
            }
            Due::AuctionClose { auction_id } => self.close_auction(ctx, auction_id).await?,
            Due::StaleListings => {
                for _ in 0..SWEEP_ROUNDS {
                    let stale = self.stale_listings(ctx.now, SWEEP_PAGE).await?;
                    for id in &stale {
                        self.expire_listing(ctx, id).await?;
                    }
                    if stale.len() < SWEEP_PAGE {
                        break;
                    }
                }
                Step::Done
            }
        };
        if let Step::NotDue(at) = outcome {
            schedules
                .schedule(&step.due.rearm_name(at), step, at)
                .await?;
        }
        Ok(outcome)
    }

    /// Expires a reservation still PENDING or CONFIRMED at its expiresAt; its item is AVAILABLE again.
    pub async fn expire_reservation(&self, ctx: &Ctx, reservation_id: &str) -> Result<Step> {
        self.optimistic(|| async {
            let Some(item_id) = crate::rules::reservation_item(reservation_id) else {
                return Err(DomainError::NotFound("reservation").into());
            };
            let Some(r) = self.store.reservation(item_id, reservation_id).await? else {
                return Ok(Step::Settled("the reservation is gone"));
            };
            let Some(item) = self.store.item(item_id).await? else {
                return Ok(Step::Settled("the item is gone"));
            };
            let decision = lifecycle::expire_reservation(&r.value, &item.value, ctx.now);
            let Decision::Act((next, next_item)) = decision else {
                return Ok(idle(&decision));
            };
            let mut writes = vec![Write::Reservation(next.clone(), Expect::Version(r.version))];
            if next_item != item.value {
                writes.push(Write::Item(next_item, Expect::Version(item.version)));
            }
            let event = ctx.envelope(ev::ReservationExpired {
                reservation: reservation_ref(&next),
            });
            self.store
                .commit(Change {
                    writes,
                    events: vec![event],
                })
                .await?;
            Ok(Step::Done)
        })
        .await
    }

    /// Expires a listing nobody took by its expiresAt.
    pub async fn expire_listing(&self, ctx: &Ctx, item_id: &str) -> Result<Step> {
        self.optimistic(|| async {
            let Some(item) = self.store.item(item_id).await? else {
                return Ok(Step::Settled("the item is gone"));
            };
            let decision = lifecycle::expire_listing(&item.value, ctx.now);
            let Decision::Act(next) = decision else {
                return Ok(idle(&decision));
            };
            let event = ctx.envelope(ev::ItemExpired {
                item_id: next.id.clone(),
                seller_id: next.seller_id.clone(),
            });
            self.store
                .commit(Change {
                    writes: vec![Write::Item(next, Expect::Version(item.version))],
                    events: vec![event],
                })
                .await?;
            Ok(Step::Done)
        })
        .await
    }

    /// Listings past their expiresAt and still AVAILABLE at `now` (at most `limit`), for the daily sweep.
    pub async fn stale_listings(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<String>> {
        Ok(self.store.stale_listings(now, limit).await?)
    }

    /// Closes an auction once its endsAt has passed: CLOSED, the item SOLD to the leader (or UNSOLD), the
    /// winner's and seller's stats, and AuctionEnded naming winner, amount, bid count and losers, all in one
    /// write conditional on the auction's version (a bid placed meanwhile makes it decide again).
    pub async fn close_auction(&self, ctx: &Ctx, auction_id: &str) -> Result<Step> {
        self.optimistic(|| async {
            let auction = self.auction(auction_id).await?;
            let item = self
                .store
                .item(&auction.value.item_id)
                .await?
                .ok_or(DomainError::NotFound("item"))?;
            let decision = lifecycle::close_auction(&auction.value, &item.value, ctx.now);
            let Decision::Act(closing) = decision else {
                return Ok(idle(&decision));
            };
            let bidders = self.bidders(auction_id).await?;
            let winner_id = closing.winner.as_ref().map(|(w, _)| w.clone());
            let loser_ids =
                lifecycle::losers(bidders.iter().map(String::as_str), winner_id.as_deref());
            let a = &closing.auction;
            let event = ctx.envelope(ev::AuctionEnded {
                auction_id: a.id.clone(),
                item_id: a.item_id.clone(),
                seller_id: a.seller_id.clone(),
                winner_id: winner_id.clone(),
                amount: closing.winner.as_ref().map(|(_, amount)| *amount),
                bid_count: a.bid_count,
                loser_ids,
            });
            let mut writes = vec![
                Write::Auction(closing.auction.clone(), Expect::Version(auction.version)),
                Write::Item(closing.item.clone(), Expect::Version(item.version)),
            ];
            if let Some(winner) = winner_id {
                writes.push(Write::AddStats {
                    user_id: winner,
                    stats: Stats {
                        auctions_won: 1,
                        ..Stats::default()
                    },
                });
                writes.push(Write::AddStats {
                    user_id: a.seller_id.clone(),
                    stats: Stats {
                        auctions_sold: 1,
                        ..Stats::default()
                    },
                });
            }
            self.store
                .commit(Change {
                    writes,
                    events: vec![event],
                })
                .await?;
            Ok(Step::Done)
        })
        .await
    }

    /// Every bidder of an auction, highest bid first (with repeats).
    async fn bidders(&self, auction_id: &str) -> Result<Vec<String>> {
        let mut bidders = vec![];
        let mut below = None;
        loop {
            let page = self.store.bids(auction_id, below, BIDS_PAGE).await?;
            let last = page.items.last().map(|b| b.amount);
            bidders.extend(page.items.into_iter().map(|b| b.bidder_id));
            match (page.next_cursor, last) {
                (Some(_), Some(amount)) => below = Some(amount),
                _ => return Ok(bidders),
            }
        }
    }

    /// The item and photo an upload's key names, if the photo is still there.
    pub async fn photo(&self, photo: &PhotoRef) -> Result<Option<(Item, Photo)>> {
        let Some(item) = self.store.item(&photo.item_id).await? else {
            return Ok(None);
        };
        let found = item.value.photos.get(&photo.photo_id).cloned();
        Ok(found.map(|p| (item.value, p)))
    }

    /// Records a photo's outcome (READY with thumbnails and labels, or REJECTED with the reason) and emits
    /// ImageProcessed or ImageRejected; a photo no longer PENDING is left alone.
    pub async fn settle_photo(
        &self,
        ctx: &Ctx,
        photo: &PhotoRef,
        outcome: &PhotoOutcome,
    ) -> Result<Step> {
        self.optimistic(|| async {
            let Some(item) = self.store.item(&photo.item_id).await? else {
                return Ok(Step::Settled("the item is gone"));
            };
            let decision = match lifecycle::settle_photo(&item.value, &photo.photo_id, outcome) {
                Ok(d) => d,
                Err(why) => return Ok(Step::Settled(why)),
            };
            let Decision::Act(next) = decision else {
                return Ok(idle(&decision));
            };
            let key = next.photos[&photo.photo_id].key.clone();
            let event = match outcome {
                PhotoOutcome::Ready { thumbnails, labels } => {
                    let size = |s: &str| thumbnails.get(s).cloned().unwrap_or_default();
                    ctx.envelope(ev::ImageProcessed {
                        item_id: next.id.clone(),
                        photo_key: key,
                        thumbnails: ev::Thumbnails {
                            small: size("128"),
                            medium: size("512"),
                            large: size("1024"),
                        },
                        labels: labels.clone(),
                    })
                }
                PhotoOutcome::Rejected { reason } => ctx.envelope(ev::ImageRejected {
                    item_id: next.id.clone(),
                    seller_id: next.seller_id.clone(),
                    photo_key: key,
                    reason: reason.clone(),
                }),
            };
            self.store
                .commit(Change {
                    writes: vec![Write::Item(next, Expect::Version(item.version))],
                    events: vec![event],
                })
                .await?;
            Ok(Step::Done)
        })
        .await
    }
}
