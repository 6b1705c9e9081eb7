//! The auction-closes worker. Its queue carries AuctionCreated (arm the close at endsAt), AuctionExtended
//! (move it to the new endsAt), ItemTakenDown naming an auction (a moderator ended it: close it now) and the
//! due closes its schedules deliver: a close finding endsAt moved
//! re-arms itself; otherwise it closes the auction exactly once (OPEN → CLOSED by a conditional write, the
//! item SOLD or UNSOLD, both users' stats, AuctionEnded with winner, amount, bid count and losers).

use std::sync::Arc;

use domain::event::DomainEvent;
use domain::schedule::{Due, Schedules};
use domain::service::Service;
use infra::error::ProcessError;
use infra::runtime::Message;
use infra::scheduler::Incoming;
use tracing::info;

#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub schedules: Arc<dyn Schedules>,
}

/// Handles one message of the auction-closes queue.
pub async fn handle(deps: &Deps, message: Message<Incoming>) -> Result<(), ProcessError> {
    let ctx = infra::lambda::system_ctx(message.correlation_id.as_deref());
    let schedules = deps.schedules.as_ref();
    let (auction_id, ends_at) = match message.body {
        Incoming::Event(envelope) => match envelope.event {
            DomainEvent::AuctionCreated(e) => (e.auction_id, e.ends_at),
            DomainEvent::AuctionExtended(e) => (e.auction_id, e.ends_at),
            // A moderator ended the auction with its listing: due now, so it closes at once.
            DomainEvent::ItemTakenDown(e) => match e.auction_id {
                Some(auction_id) => (auction_id, ctx.now),
                None => {
                    info!("the listing taken down had no auction under way; ignored");
                    return Ok(());
                }
            },
            other => {
                info!(event_type = %other.event_type(), "not an auction-closes event; ignored");
                return Ok(());
            }
        },
        Incoming::Due(step) => {
            if !matches!(step.due, Due::AuctionClose { .. }) {
                return Err(ProcessError::Rejected(format!(
                    "{:?} belongs on the expiries queue",
                    step.due
                )));
            }
            let outcome = deps.service.run_due(&ctx, schedules, &step).await?;
            info!(step = ?outcome, "auction close handled");
            return Ok(());
        }
    };
    let outcome = deps
        .service
        .arm(&ctx, schedules, Due::AuctionClose { auction_id }, ends_at)
        .await?;
    info!(step = ?outcome, "auction close armed");
    Ok(())
}
