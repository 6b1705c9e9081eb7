//! Reservations: reserve, read, confirm, complete (both users' stats), cancel, and the expiry.

use chrono::{DateTime, Utc};

use super::{idle, Ctx, Result, Service, Step};
use crate::error::DomainError;
use uuid::Uuid;

use crate::event::{self as ev, Envelope, EventId, ReservationRef};
use crate::ids;
use crate::profile::Stats;
use crate::reservation::{self, Reservation};
use crate::schedule::{Decision, Due, Schedules};
use crate::store::*;

fn reservation_ref(r: &Reservation) -> ReservationRef {
    ReservationRef {
        reservation_id: r.id.clone(),
        item_id: r.item_id.clone(),
        buyer_id: r.buyer_id.clone(),
        seller_id: r.seller_id.clone(),
    }
}

impl Service {
    pub async fn reserve(&self, ctx: &Ctx, item_id: &str) -> Result<Reservation> {
        self.optimistic(|| async {
            let item = self.item(item_id).await?;
            let id = ids::reservation_id(&item.value.id, &self.new_id());
            let (next, reservation) = reservation::reserve(
                &item.value,
                &ctx.caller,
                id,
                ctx.now,
                self.settings.reservation_ttl,
            )?;
            let event = self.envelope(
                ctx,
                ev::ReservationCreated {
                    reservation: reservation_ref(&reservation),
                    expires_at: reservation.expires_at,
                },
            );
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Item(next, Expect::Version(item.version)),
                        Write::Reservation(reservation.clone(), Expect::New),
                        Write::member(&ctx.caller),
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
        reservation::view_reservation(&r.value, &ctx.caller)?;
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
            let next = reservation::confirm(&r.value, &ctx.caller, pickup_at, ctx.now)?;
            let event = self.envelope(
                ctx,
                ev::ReservationConfirmed {
                    reservation: reservation_ref(&next),
                    pickup_at,
                },
            );
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
            let (next, next_item) =
                reservation::complete(&r.value, &item.value, &ctx.caller, ctx.now)?;
            let event = self.envelope(
                ctx,
                ev::ReservationCompleted {
                    reservation: reservation_ref(&next),
                },
            );
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
            let (next, next_item) =
                reservation::cancel(&r.value, &item.value, &ctx.caller, ctx.now)?;
            let event = self.envelope(
                ctx,
                ev::ReservationCancelled {
                    reservation: reservation_ref(&next),
                    cancelled_by: ctx.caller.clone(),
                },
            );
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

    /// Expires a reservation still PENDING or CONFIRMED at its expiresAt; its item is AVAILABLE again.
    pub async fn expire_reservation(&self, ctx: &Ctx, reservation_id: &str) -> Result<Step> {
        self.optimistic(|| async {
            let Some(item_id) = ids::reservation_item(reservation_id) else {
                return Err(DomainError::NotFound("reservation").into());
            };
            let Some(r) = self.store.reservation(item_id, reservation_id).await? else {
                return Ok(Step::Settled("the reservation is gone"));
            };
            let Some(item) = self.store.item(item_id).await? else {
                return Ok(Step::Settled("the item is gone"));
            };
            let decision = reservation::expire_reservation(&r.value, &item.value, ctx.now);
            let Decision::Act((next, next_item)) = decision else {
                return Ok(idle(&decision));
            };
            let mut writes = vec![Write::Reservation(next.clone(), Expect::Version(r.version))];
            if next_item != item.value {
                writes.push(Write::Item(next_item, Expect::Version(item.version)));
            }
            let event = self.envelope(
                ctx,
                ev::ReservationExpired {
                    reservation: reservation_ref(&next),
                },
            );
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

    /// Arms the pickup reminder of a just-confirmed reservation (nothing when it is due within the lead).
    pub async fn arm_pickup_reminder(
        &self,
        ctx: &Ctx,
        schedules: &dyn Schedules,
        reservation_id: &str,
    ) -> Result<Step> {
        let Some(item_id) = ids::reservation_item(reservation_id) else {
            return Err(DomainError::NotFound("reservation").into());
        };
        let Some(r) = self.store.reservation(item_id, reservation_id).await? else {
            return Ok(Step::Settled("the reservation is gone"));
        };
        match reservation::pickup_reminder_at(&r.value, self.settings.pickup_reminder_lead, ctx.now)
        {
            Some(at) => {
                let due = Due::PickupReminder {
                    reservation_id: reservation_id.to_owned(),
                };
                self.arm(ctx, schedules, due, at).await
            }
            None => Ok(Step::Settled("no pickup to remind of")),
        }
    }

    /// Reminds both parties of a pickup that still stands. The event's id derives from the reservation and
    /// its pickupAt, so a step delivered twice records one reminder.
    pub async fn remind_pickup(&self, ctx: &Ctx, reservation_id: &str) -> Result<Step> {
        let Some(item_id) = ids::reservation_item(reservation_id) else {
            return Err(DomainError::NotFound("reservation").into());
        };
        let Some(r) = self.store.reservation(item_id, reservation_id).await? else {
            return Ok(Step::Settled("the reservation is gone"));
        };
        let decision =
            reservation::remind_pickup(&r.value, self.settings.pickup_reminder_lead, ctx.now);
        let Decision::Act(pickup_at) = decision else {
            return Ok(idle(&decision));
        };
        let name = format!("pickup-reminder/{reservation_id}/{}", pickup_at.timestamp());
        let event = Envelope::new(
            ev::PickupReminder {
                reservation: reservation_ref(&r.value),
                pickup_at,
            }
            .into(),
            ctx.correlation,
            ctx.now,
        )
        .with_id(EventId::new(Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            name.as_bytes(),
        )));
        let recorded = self
            .store
            .commit(Change {
                writes: vec![],
                events: vec![event],
            })
            .await;
        match recorded {
            Ok(()) => Ok(Step::Done),
            // The outbox holds that id already: an earlier delivery of the step recorded it.
            Err(StoreError::ConditionFailed) => Ok(Step::Settled("already reminded")),
            Err(e) => Err(e.into()),
        }
    }
}
