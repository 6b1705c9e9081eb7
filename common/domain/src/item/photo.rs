//! An item's photos: PENDING once the seller starts an upload, then READY (thumbnails and labels) or
//! REJECTED (the reason the seller is told) once the images worker has looked at it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::{own_item, Item};
use crate::error::{DomainError, Unprocessable};
use crate::schedule::Decision;

/// Photos per item.
pub const MAX_PHOTOS: usize = 10;

string_enum!(
    PhotoStatus {
        Pending => "pending",
        Ready => "ready",
        Rejected => "rejected",
    }
);

/// One photo of an item: uploaded through a presigned POST, then thumbnailed and labelled by the images worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Photo {
    pub id: String,
    /// The upload's object key (`uploads/<userId>/<itemId>/<photoId>`).
    pub key: String,
    pub status: PhotoStatus,
    /// Thumbnail keys by long-side size ("128", "512", "1024"), once READY.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thumbnails: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Why it was rejected (shown to the seller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Its place among the item's photos in upload order, from 1 (0 on records written before it existed):
    /// two uploads within one clock tick keep their order, which the cover relies on.
    #[serde(default)]
    pub position: u32,
}

/// The seller adds a photo: PENDING until the images worker has looked at the upload.
pub fn add_photo(
    item: &Item,
    caller: &str,
    photo_id: &str,
    key: String,
    now: DateTime<Utc>,
) -> Result<Item, DomainError> {
    own_item(item, caller)?;
    if item.photos.len() >= MAX_PHOTOS {
        return Err(DomainError::unprocessable(
            Unprocessable::TooManyPhotos,
            format!("an item has at most {MAX_PHOTOS} photos"),
        ));
    }
    let mut next = item.clone();
    next.photos.insert(
        photo_id.to_owned(),
        Photo {
            id: photo_id.to_owned(),
            key,
            status: PhotoStatus::Pending,
            thumbnails: Default::default(),
            labels: vec![],
            reason: None,
            created_at: now,
            position: item.photos.values().map(|p| p.position).max().unwrap_or(0) + 1,
        },
    );
    Ok(next)
}

/// Where an upload's key says it belongs: `<prefix><userId>/<itemId>/<photoId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRef {
    pub user_id: String,
    pub item_id: String,
    pub photo_id: String,
}

/// Reads an upload's (URL-decoded) key; None if it is not one of ours.
pub fn photo_ref(key: &str, uploads_prefix: &str) -> Option<PhotoRef> {
    let rest = key.strip_prefix(uploads_prefix)?;
    let mut parts = rest.split('/');
    let (user_id, item_id, photo_id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [user_id, item_id, photo_id].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(PhotoRef {
        user_id: user_id.to_owned(),
        item_id: item_id.to_owned(),
        photo_id: photo_id.to_owned(),
    })
}

/// What the images worker made of a photo.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoOutcome {
    /// Thumbnail keys by long-side size ("128", "512", "1024") and the labels seen.
    Ready {
        thumbnails: BTreeMap<String, String>,
        labels: Vec<String>,
    },
    /// Refused; the reason is shown to the seller.
    Rejected { reason: String },
}

/// Records a photo's outcome on its item. Only a PENDING photo changes; an unknown one is `Err` (nothing to
/// record it on: the seller deleted the item, or the key was never handed out). The first photo to be READY
/// also sets the item's suggested category from its labels.
pub fn settle_photo(
    item: &Item,
    photo_id: &str,
    outcome: &PhotoOutcome,
) -> Result<Decision<Item>, &'static str> {
    let photo = item
        .photos
        .get(photo_id)
        .ok_or("the item has no such photo")?;
    if photo.status != PhotoStatus::Pending {
        return Ok(Decision::Settled("the photo was already processed"));
    }
    let first_ready = !item.photos.values().any(|p| p.status == PhotoStatus::Ready);
    let mut next = item.clone();
    let photo = next
        .photos
        .get_mut(photo_id)
        .ok_or("the item has no such photo")?;
    match outcome {
        PhotoOutcome::Ready { thumbnails, labels } => {
            photo.status = PhotoStatus::Ready;
            photo.thumbnails = thumbnails.clone();
            photo.labels = labels.clone();
            // Seed flow 4: the first photo to be READY suggests the item's category.
            if first_ready {
                next.suggested_category = super::categories::suggest(labels);
            }
        }
        PhotoOutcome::Rejected { reason } => {
            photo.status = PhotoStatus::Rejected;
            photo.reason = Some(reason.clone());
        }
    }
    Ok(Decision::Act(next))
}
