//! The expiries worker. Its queue carries ReservationCreated (arm the expiry at expiresAt),
//! ReservationConfirmed (arm the pickup reminder an hour before pickupAt), ReservationCompleted and
//! ReservationCancelled (disarm both), and the due steps its schedules deliver: a reservation's expiry (still
//! PENDING/CONFIRMED → EXPIRED, the item AVAILABLE, ReservationExpired), a pickup reminder (still CONFIRMED →
//! PickupReminder, for the notifications queue) and the daily sweep of listings past their expiresAt
//! (→ EXPIRED, ItemExpired).

use std::sync::Arc;

use domain::event::DomainEvent;
use domain::schedule::{Due, Schedules};
use domain::service::{Ctx, Service};
use infra::error::ProcessError;
use infra::runtime::Message;
use infra::scheduler::Incoming;
use tracing::info;

#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub schedules: Arc<dyn Schedules>,
}

/// Handles one message of the expiries queue.
pub async fn handle(deps: &Deps, message: Message<Incoming>) -> Result<(), ProcessError> {
    let ctx = infra::lambda::system_ctx(message.correlation_id.as_deref());
    let schedules = deps.schedules.as_ref();
    let step = match message.body {
        Incoming::Event(envelope) => match envelope.event {
            DomainEvent::ReservationCreated(e) => {
                let due = Due::ReservationExpiry {
                    reservation_id: e.reservation.reservation_id,
                };
                deps.service.arm(&ctx, schedules, due, e.expires_at).await?
            }
            DomainEvent::ReservationConfirmed(e) => {
                deps.service
                    .arm_pickup_reminder(&ctx, schedules, &e.reservation.reservation_id)
                    .await?
            }
            DomainEvent::ReservationCompleted(e) => {
                return disarm(deps, &ctx, e.reservation.reservation_id).await
            }
            DomainEvent::ReservationCancelled(e) => {
                return disarm(deps, &ctx, e.reservation.reservation_id).await
            }
            other => {
                info!(event_type = %other.event_type(), "not an expiries event; ignored");
                return Ok(());
            }
        },
        Incoming::Due(step) => match step.due {
            Due::AuctionClose { .. } => {
                return Err(ProcessError::Rejected(
                    "an auction close belongs on the auction-closes queue".into(),
                ))
            }
            _ => deps.service.run_due(&ctx, schedules, &step).await?,
        },
    };
    info!(step = ?step, "expiries step handled");
    Ok(())
}

/// A reservation that ended needs neither its expiry nor its pickup reminder (the reminder would find it
/// ended and send nothing; cancelling spares the Scheduler the call).
async fn disarm(deps: &Deps, _ctx: &Ctx, reservation_id: String) -> Result<(), ProcessError> {
    let reminder = Due::PickupReminder {
        reservation_id: reservation_id.clone(),
    };
    let due = Due::ReservationExpiry { reservation_id };
    deps.service.disarm(deps.schedules.as_ref(), &due).await?;
    deps.service
        .disarm(deps.schedules.as_ref(), &reminder)
        .await?;
    info!("reservation expiry and pickup reminder disarmed");
    Ok(())
}
