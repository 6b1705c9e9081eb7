//! The index worker (the seeds' Index consumer). Its queue carries the events that may change what search
//! finds of a listing (`domain::search::listing_of`); for each, the listing is read again and the index
//! caught up with it as it is now (`Service::reindex`), so the order the events arrive in, a repeat or a
//! late one changes nothing: the index follows the listing's version.

use std::sync::Arc;

use domain::event::Envelope;
use domain::search::{self, SearchIndex};
use domain::service::Service;
use infra::error::ProcessError;
use infra::runtime::Message;
use tracing::info;

#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub index: Arc<dyn SearchIndex>,
}

/// Handles one message of the index queue.
pub async fn handle(deps: &Deps, message: Message<Envelope>) -> Result<(), ProcessError> {
    let event = &message.body.event;
    let Some(item_id) = search::listing_of(event) else {
        info!(event_type = %event.event_type(), "changes no listing's search entries; ignored");
        return Ok(());
    };
    let synced = deps.service.reindex(deps.index.as_ref(), item_id).await?;
    info!(item_id, ?synced, "search index caught up");
    Ok(())
}
