//! The index worker (the seeds' Index consumer, and their text moderation). Its queue carries the events that
//! may change what search finds of a listing (`domain::search::listing_of`); for each, the listing is read
//! again and the index caught up with it as it is now (`Service::reindex`), so the order the events arrive
//! in, a repeat or a late one changes nothing: the index follows the listing's version. A listing posted or
//! edited in its words (`screening::text_of`) is first screened ([`TextScreen`]): read as toxic it is
//! flagged, hidden from browse and search, its seller told why; an edit read as clean lifts the flag. So
//! search never finds a listing whose current text was not screened.

use std::sync::Arc;

use async_trait::async_trait;
use domain::event::Envelope;
use domain::item::screening::{self, Toxicity};
use domain::search::{self, SearchIndex};
use domain::service::Service;
use infra::error::ProcessError;
use infra::runtime::Message;
use tracing::info;

pub mod aws;

/// The toxicity model (Amazon Comprehend's DetectToxicContent in AWS): one score per segment, in order.
#[async_trait]
pub trait TextScreen: Send + Sync {
    async fn toxicity(&self, segments: &[String]) -> Result<Vec<Toxicity>, ProcessError>;
}

#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub index: Arc<dyn SearchIndex>,
    pub screen: Arc<dyn TextScreen>,
}

/// Handles one message of the index queue.
pub async fn handle(deps: &Deps, message: Message<Envelope>) -> Result<(), ProcessError> {
    let event = &message.body.event;
    if let Some(item_id) = screening::text_of(event) {
        screen(deps, &message, item_id).await?;
    }
    let Some(item_id) = search::listing_of(event) else {
        info!(event_type = %event.event_type(), "changes no listing's search entries; ignored");
        return Ok(());
    };
    let synced = deps.service.reindex(deps.index.as_ref(), item_id).await?;
    info!(item_id, ?synced, "search index caught up");
    Ok(())
}

/// Screens the listing's current text and settles the verdict (a listing gone has nothing to screen).
async fn screen(
    deps: &Deps,
    message: &Message<Envelope>,
    item_id: &str,
) -> Result<(), ProcessError> {
    let Some(item) = deps.service.listing(item_id).await? else {
        info!(item_id, "the listing is gone: nothing to screen");
        return Ok(());
    };
    let segments = screening::segments(&item);
    let scores = deps.screen.toxicity(&segments).await?;
    if scores.len() != segments.len() {
        return Err(ProcessError::Permanent(
            format!(
                "the model scored {} of {} segments",
                scores.len(),
                segments.len()
            )
            .into(),
        ));
    }
    let reason = screening::verdict(&scores);
    let ctx = infra::lambda::system_ctx(message.correlation_id.as_deref());
    let step = deps
        .service
        .settle_screening(&ctx, item_id, &segments, reason.clone())
        .await?;
    info!(item_id, toxic = reason.is_some(), ?step, "listing screened");
    Ok(())
}
