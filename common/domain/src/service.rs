//! The API's use-cases: read, decide with `rules`, write the decision and its events as one conditional
//! [`Change`]. A write refused because the state moved on is retried from a fresh read (optimistic
//! concurrency), so the decision is always made again on the state it is written over; a rule that now says no
//! answers with its reason.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Duration, Utc};

use crate::error::{Conflict, DomainError};
use crate::event::{CorrelationId, DomainEvent, Envelope};
use crate::events::{self as ev, ReservationRef};
use crate::model::*;
use crate::rules::{self, NewAuction, NewItem, NewRating, ProfileUpdate};
use crate::store::*;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    fn is_condition_failed(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::ConditionFailed))
    }
}

type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Who asks, on behalf of which request, when.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caller: String,
    pub correlation: CorrelationId,
    pub now: DateTime<Utc>,
}

impl Ctx {
    fn envelope(&self, event: impl Into<DomainEvent>) -> Envelope {
        Envelope::new(event.into(), self.correlation, self.now)
    }
}

/// What a deployment sets (short durations for the end-to-end tests).
#[derive(Debug, Clone)]
pub struct Settings {
    pub reservation_ttl: Duration,
    pub min_auction: Duration,
    /// A bid this close to endsAt extends the auction by as much (anti-sniping; 2 minutes by default).
    pub sniping_window: Duration,
    /// Key prefix of photo uploads (`uploads/`).
    pub uploads_prefix: String,
    /// How often a write raced by others is decided again before answering 409 contention.
    pub max_attempts: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reservation_ttl: rules::RESERVATION_TTL,
            min_auction: rules::MIN_AUCTION,
            sniping_window: rules::SNIPING_WINDOW,
            uploads_prefix: "uploads/".into(),
            max_attempts: 30,
        }
    }
}

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    settings: Settings,
}

fn reservation_ref(r: &Reservation) -> ReservationRef {
    ReservationRef {
        reservation_id: r.id.clone(),
        item_id: r.item_id.clone(),
        buyer_id: r.buyer_id.clone(),
        seller_id: r.seller_id.clone(),
    }
}

impl Service {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Self { store, settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `attempt` again while its write is refused because the state changed under it.
    async fn optimistic<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(StdDuration::from_millis(2))
            .with_max_delay(StdDuration::from_millis(50))
            .with_max_times(self.settings.max_attempts)
            .with_jitter();
        match attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(ServiceError::is_condition_failed)
            .await
        {
            Err(e) if e.is_condition_failed() => Err(DomainError::conflict(
                Conflict::Contention,
                "too many concurrent changes; retry the request",
            )
            .into()),
            other => other,
        }
    }

    async fn item(&self, id: &str) -> Result<Versioned<Item>> {
        if !rules::is_id(id) {
            return Err(DomainError::NotFound("item").into());
        }
        Ok(self
            .store
            .item(id)
            .await?
            .ok_or(DomainError::NotFound("item"))?)
    }

    async fn reservation(&self, id: &str) -> Result<Versioned<Reservation>> {
        let item_id = rules::reservation_item(id).ok_or(DomainError::NotFound("reservation"))?;
        Ok(self
            .store
            .reservation(item_id, id)
            .await?
            .ok_or(DomainError::NotFound("reservation"))?)
    }

    async fn auction(&self, id: &str) -> Result<Versioned<Auction>> {
        if !rules::is_id(id) {
            return Err(DomainError::NotFound("auction").into());
        }
        Ok(self
            .store
            .auction(id)
            .await?
            .ok_or(DomainError::NotFound("auction"))?)
    }

    // ---- items ---------------------------------------------------------------------------------------------

    pub async fn create_item(&self, ctx: &Ctx, input: NewItem) -> Result<Item> {
        let item = rules::new_item(input, &ctx.caller, rules::new_id(), ctx.now)?;
        let event = ctx.envelope(ev::ItemCreated {
            item_id: item.id.clone(),
            seller_id: item.seller_id.clone(),
            title: item.title.clone(),
            category: item.category.as_str().to_owned(),
            mode: item.mode,
            location: item.location.clone(),
            expires_at: item.expires_at,
        });
        self.store
            .commit(Change {
                writes: vec![Write::Item(item.clone(), Expect::New)],
                events: vec![event],
            })
            .await?;
        Ok(item)
    }

    pub async fn get_item(&self, id: &str) -> Result<Item> {
        Ok(self.item(id).await?.value)
    }

    pub async fn browse(&self, query: &BrowseQuery) -> Result<Page<Item>> {
        Ok(self.store.browse(query).await?)
    }

    pub async fn delete_item(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.optimistic(|| async {
            let item = self.item(id).await?;
            rules::delete_item(&item.value, &ctx.caller)?;
            let event = ctx.envelope(ev::ItemDeleted {
                item_id: item.value.id.clone(),
                seller_id: item.value.seller_id.clone(),
            });
            self.store
                .commit(Change {
                    writes: vec![Write::DeleteItem {
                        id: item.value.id.clone(),
                        version: item.version,
                    }],
                    events: vec![event],
                })
                .await?;
            Ok(())
        })
        .await
    }

    /// Records a PENDING photo; the caller presigns the upload of its key.
    pub async fn add_photo(&self, ctx: &Ctx, item_id: &str) -> Result<Photo> {
        let photo_id = rules::new_id();
        self.optimistic(|| async {
            let item = self.item(item_id).await?;
            let key = format!(
                "{}{}/{}/{}",
                self.settings.uploads_prefix, ctx.caller, item.value.id, photo_id
            );
            let next = rules::add_photo(&item.value, &ctx.caller, &photo_id, key, ctx.now)?;
            let photo = next.photos[&photo_id].clone();
            self.store
                .commit(Change {
                    writes: vec![Write::Item(next, Expect::Version(item.version))],
                    events: vec![],
                })
                .await?;
            Ok(photo)
        })
        .await
    }

    // ---- reservations --------------------------------------------------------------------------------------

    pub async fn reserve(&self, ctx: &Ctx, item_id: &str) -> Result<Reservation> {
        self.optimistic(|| async {
            let item = self.item(item_id).await?;
            let (next, reservation) = rules::reserve(
                &item.value,
                &ctx.caller,
                ctx.now,
                self.settings.reservation_ttl,
            )?;
            let event = ctx.envelope(ev::ReservationCreated {
                reservation: reservation_ref(&reservation),
                expires_at: reservation.expires_at,
            });
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Item(next, Expect::Version(item.version)),
                        Write::Reservation(reservation.clone(), Expect::New),
                    ],
                    events: vec![event],
                })
                .await?;
            Ok(reservation)
        })
        .await
    }

    pub async fn get_reservation(&self, ctx: &Ctx, id: &str) -> Result<Reservation> {
        let r = self.reservation(id).await?;
        rules::view_reservation(&r.value, &ctx.caller)?;
        Ok(r.value)
    }

    pub async fn confirm(
        &self,
        ctx: &Ctx,
        id: &str,
        pickup_at: Option<DateTime<Utc>>,
    ) -> Result<Reservation> {
        self.optimistic(|| async {
            let r = self.reservation(id).await?;
            let next = rules::confirm(&r.value, &ctx.caller, pickup_at, ctx.now)?;
            let event = ctx.envelope(ev::ReservationConfirmed {
                reservation: reservation_ref(&next),
                pickup_at,
            });
            self.store
                .commit(Change {
                    writes: vec![Write::Reservation(next.clone(), Expect::Version(r.version))],
                    events: vec![event],
                })
                .await?;
            Ok(next)
        })
        .await
    }

    /// The pickup happened: the reservation COMPLETED, the item PICKED_UP and both users' stats moved, in one
    /// write (so the stats move exactly once per deal).
    pub async fn complete(&self, ctx: &Ctx, id: &str) -> Result<Reservation> {
        self.optimistic(|| async {
            let r = self.reservation(id).await?;
            let item = self.item(&r.value.item_id).await?;
            let (next, next_item) = rules::complete(&r.value, &item.value, &ctx.caller, ctx.now)?;
            let event = ctx.envelope(ev::ReservationCompleted {
                reservation: reservation_ref(&next),
            });
            let given = Stats {
                items_given: 1,
                ..Stats::default()
            };
            let received = Stats {
                items_received: 1,
                ..Stats::default()
            };
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Reservation(next.clone(), Expect::Version(r.version)),
                        Write::Item(next_item, Expect::Version(item.version)),
                        Write::AddStats {
                            user_id: next.seller_id.clone(),
                            stats: given,
                        },
                        Write::AddStats {
                            user_id: next.buyer_id.clone(),
                            stats: received,
                        },
                    ],
                    events: vec![event],
                })
                .await?;
            Ok(next)
        })
        .await
    }

    pub async fn cancel(&self, ctx: &Ctx, id: &str) -> Result<Reservation> {
        self.optimistic(|| async {
            let r = self.reservation(id).await?;
            let item = self.item(&r.value.item_id).await?;
            let (next, next_item) = rules::cancel(&r.value, &item.value, &ctx.caller, ctx.now)?;
            let event = ctx.envelope(ev::ReservationCancelled {
                reservation: reservation_ref(&next),
                cancelled_by: ctx.caller.clone(),
            });
            let mut writes = vec![Write::Reservation(next.clone(), Expect::Version(r.version))];
            if next_item != item.value {
                writes.push(Write::Item(next_item, Expect::Version(item.version)));
            }
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

    // ---- auctions ------------------------------------------------------------------------------------------

    pub async fn create_auction(&self, ctx: &Ctx, input: &NewAuction) -> Result<Auction> {
        self.optimistic(|| async {
            let item = self.item(&input.item_id).await?;
            let (next, auction) = rules::create_auction(
                &item.value,
                &ctx.caller,
                input,
                self.settings.min_auction,
                ctx.now,
            )?;
            let event = ctx.envelope(ev::AuctionCreated {
                auction_id: auction.id.clone(),
                item_id: auction.item_id.clone(),
                seller_id: auction.seller_id.clone(),
                ends_at: auction.ends_at,
                starting_price: auction.starting_price,
                min_increment: auction.min_increment,
            });
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Item(next, Expect::Version(item.version)),
                        Write::Auction(auction.clone(), Expect::New),
                    ],
                    events: vec![event],
                })
                .await?;
            Ok(auction)
        })
        .await
    }

    pub async fn get_auction(&self, id: &str) -> Result<Auction> {
        Ok(self.auction(id).await?.value)
    }

    pub async fn bids(&self, id: &str, below: Option<i64>, limit: usize) -> Result<Page<Bid>> {
        let auction = self.auction(id).await?;
        Ok(self.store.bids(&auction.value.id, below, limit).await?)
    }

    /// Places a bid: accepted bids are serialised by the auction's version, each decided on the state it is
    /// written over, so the stored leader and amount are always the highest accepted bid.
    pub async fn place_bid(
        &self,
        ctx: &Ctx,
        auction_id: &str,
        amount: i64,
    ) -> Result<(Bid, Auction)> {
        self.optimistic(|| async {
            let auction = self.auction(auction_id).await?;
            let placed = rules::place_bid_within(
                &auction.value,
                &ctx.caller,
                amount,
                ctx.now,
                self.settings.sniping_window,
            )?;
            let a = &placed.auction;
            let mut events = vec![ctx.envelope(ev::BidPlaced {
                auction_id: a.id.clone(),
                bid_id: placed.bid.bid_id.clone(),
                bidder_id: placed.bid.bidder_id.clone(),
                amount,
                bid_count: a.bid_count,
                ends_at: a.ends_at,
                previous_leader_id: placed.previous_leader.clone(),
            })];
            if placed.extended {
                events.push(ctx.envelope(ev::AuctionExtended {
                    auction_id: a.id.clone(),
                    ends_at: a.ends_at,
                    extensions: a.extensions,
                }));
            }
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Auction(placed.auction.clone(), Expect::Version(auction.version)),
                        Write::Bid(placed.bid.clone()),
                    ],
                    events,
                })
                .await?;
            Ok((placed.bid, placed.auction))
        })
        .await
    }

    // ---- users ---------------------------------------------------------------------------------------------

    /// The caller's profile (an empty one until they set something or a deal moved their stats).
    pub async fn profile(&self, user_id: &str) -> Result<UserProfile> {
        Ok(self
            .store
            .profile(user_id)
            .await?
            .unwrap_or_else(|| UserProfile {
                id: user_id.to_owned(),
                ..UserProfile::default()
            }))
    }

    pub async fn update_profile(&self, ctx: &Ctx, input: &ProfileUpdate) -> Result<UserProfile> {
        let (display_name, home) = rules::profile_update(input)?;
        self.store
            .commit(Change {
                writes: vec![Write::Profile {
                    user_id: ctx.caller.clone(),
                    display_name,
                    home,
                }],
                events: vec![],
            })
            .await?;
        self.profile(&ctx.caller).await
    }

    pub async fn register_device(&self, ctx: &Ctx, device: Device) -> Result<Device> {
        self.store
            .commit(Change {
                writes: vec![Write::Device {
                    user_id: ctx.caller.clone(),
                    device: device.clone(),
                }],
                events: vec![],
            })
            .await?;
        Ok(device)
    }

    /// One party of a completed deal rates the other, once.
    pub async fn rate(&self, ctx: &Ctx, ratee_id: &str, input: &NewRating) -> Result<Rating> {
        let deal: rules::Deal = if rules::reservation_item(&input.about).is_some() {
            (&self.reservation(&input.about).await?.value).into()
        } else if rules::is_id(&input.about) {
            (&self.auction(&input.about).await?.value).into()
        } else {
            return Err(DomainError::NotFound("deal").into());
        };
        let rating = rules::rate(&deal, &ctx.caller, ratee_id, input, ctx.now)?;
        let event = ctx.envelope(ev::UserRated {
            rater_id: rating.rater_id.clone(),
            ratee_id: rating.ratee_id.clone(),
            about: rating.about.clone(),
            stars: rating.stars,
        });
        let written = self
            .store
            .commit(Change {
                writes: vec![
                    Write::Rating(rating.clone()),
                    Write::AddRating {
                        user_id: rating.ratee_id.clone(),
                        stars: rating.stars,
                    },
                ],
                events: vec![event],
            })
            .await;
        match written {
            Err(StoreError::ConditionFailed) => Err(DomainError::conflict(
                Conflict::AlreadyRated,
                "you already rated this user for this deal",
            )
            .into()),
            other => Ok(other.map(|()| rating)?),
        }
    }
}

mod lifecycle;
pub use lifecycle::Step;

#[cfg(test)]
mod tests;
