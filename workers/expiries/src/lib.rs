//! The expiries worker. Its queue carries ReservationCreated (arm the expiry at expiresAt),
//! ReservationCompleted and ReservationCancelled (disarm it), and the due steps its schedules deliver: a
//! reservation's expiry (still PENDING/CONFIRMED → EXPIRED, the item AVAILABLE, ReservationExpired) and the
//! daily sweep of listings past their expiresAt (→ EXPIRED, ItemExpired).

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

async fn disarm(deps: &Deps, _ctx: &Ctx, reservation_id: String) -> Result<(), ProcessError> {
    let due = Due::ReservationExpiry { reservation_id };
    deps.service.disarm(deps.schedules.as_ref(), &due).await?;
    info!("reservation expiry disarmed");
    Ok(())
}
