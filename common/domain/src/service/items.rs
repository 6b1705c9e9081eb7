//! Items: post, read, browse, withdraw, photos (start an upload, settle its outcome) and the listings' expiry.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{idle, Ctx, Result, Service, Step};
use crate::error::DomainError;
use crate::event as ev;
use crate::item::{self, photo, Item, NewItem, Photo, PhotoOutcome, PhotoRef};
use crate::schedule::Decision;
use crate::search::{self, SearchIndex, SearchQuery, Synced};
use crate::store::*;

impl Service {
    pub async fn create_item(&self, ctx: &Ctx, input: NewItem) -> Result<Item> {
        let item = item::new_item(input, &ctx.caller, self.new_id(), ctx.now)?;
        let event = self.envelope(
            ctx,
            ev::ItemCreated {
                item_id: item.id.clone(),
                seller_id: item.seller_id.clone(),
                title: item.title.clone(),
                category: item.category.as_str().to_owned(),
                mode: item.mode,
                location: item.location.clone(),
                expires_at: item.expires_at,
            },
        );
        self.store
            .commit(Change {
                writes: vec![
                    Write::Item(item.clone(), Expect::New),
                    Write::member(&ctx.caller),
                ],
                events: vec![event],
            })
            .await?;
        Ok(item)
    }

    pub async fn get_item(&self, id: &str) -> Result<Item> {
        Ok(self.item(id).await?.value)
    }

    /// An item and the version it was read at (the API's ETag, which an edit's If-Match names).
    /// The listing as stored, if there is one (a worker's read: no 404).
    pub async fn listing(&self, id: &str) -> Result<Option<Item>> {
        Ok(self.store.item(id).await?.map(|v| v.value))
    }

    pub async fn get_item_versioned(&self, id: &str) -> Result<Versioned<Item>> {
        self.item(id).await
    }

    /// The seller edits a listing read at `version` (If-Match): refused as stale once anything changed it
    /// since, so an edit never overwrites what its author did not see. Emits ItemUpdated when something
    /// changed. While the item is in auction, the auction is written back unchanged at the version read, so a
    /// bid landing meanwhile fails the edit instead of slipping under it.
    pub async fn edit_item(
        &self,
        ctx: &Ctx,
        id: &str,
        version: u64,
        edit: &item::ItemEdit,
    ) -> Result<Versioned<Item>> {
        let stored = self.item(id).await?;
        let stale = |now: u64| {
            DomainError::Stale(format!(
                "the item changed since version {version} (it is at {now}): read it again"
            ))
        };
        let auction = match (&stored.value.status, &stored.value.auction_id) {
            (item::ItemStatus::InAuction, Some(a)) => self.store.auction(a).await?,
            _ => None,
        };
        let bids = auction.as_ref().map_or(0, |a| a.value.bid_count);
        // The request's own faults first (400 invalid, 403 not the seller, 409 not editable), then whether it
        // was decided from the item as it is (412).
        let next = item::edit_item(&stored.value, &ctx.caller, edit, bids)?;
        if stored.version != version {
            return Err(stale(stored.version).into());
        }
        let Some(next) = next else {
            return Ok(stored);
        };
        let old = &stored.value;
        let changed = [
            ("title", next.title != old.title),
            ("description", next.description != old.description),
            ("category", next.category != old.category),
        ]
        .into_iter()
        .filter(|(_, moved)| *moved)
        .map(|(field, _)| field.to_owned())
        .collect();
        let event = self.envelope(
            ctx,
            ev::ItemUpdated {
                item_id: next.id.clone(),
                seller_id: next.seller_id.clone(),
                title: next.title.clone(),
                description: next.description.clone(),
                category: next.category.as_str().to_owned(),
                changed,
            },
        );
        let mut writes = vec![Write::Item(next.clone(), Expect::Version(version))];
        if let Some(a) = auction {
            writes.push(Write::Auction(a.value, Expect::Version(a.version)));
        }
        match self
            .store
            .commit(Change {
                writes,
                events: vec![event],
            })
            .await
        {
            Ok(()) => Ok(Versioned {
                value: next,
                version: version + 1,
            }),
            Err(StoreError::ConditionFailed) => {
                let now = self.item(id).await?.version;
                Err(stale(now).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn browse(&self, query: &BrowseQuery) -> Result<Page<Item>> {
        Ok(self.store.browse(query).await?)
    }

    /// Listed items found by `query` (`GET /items?q=`), in the index's order: its hits, read from the store,
    /// those still listed (the index follows a listing's end a moment later).
    pub async fn search(&self, index: &dyn SearchIndex, query: &SearchQuery) -> Result<Page<Item>> {
        let hits = index.search(query).await?;
        let ids: Vec<String> = hits.items.into_iter().map(|h| h.item_id).collect();
        let mut found: HashMap<String, Item> = match ids.is_empty() {
            true => HashMap::new(),
            false => self
                .store
                .items(&ids)
                .await?
                .into_iter()
                .map(|i| (i.id.clone(), i))
                .collect(),
        };
        Ok(Page {
            items: ids
                .iter()
                .filter_map(|id| found.remove(id))
                .filter(search::indexable)
                .collect(),
            next_cursor: hits.next_cursor,
        })
    }

    /// Brings the search index up to date with a listing as it is now (the index worker, on each event of
    /// the listing): whatever the event, the listing is read again, so a late or repeated message is harmless.
    pub async fn reindex(&self, index: &dyn SearchIndex, item_id: &str) -> Result<Synced> {
        self.optimistic(|| async {
            let item = self.store.item(item_id).await?;
            Ok(index.sync(item_id, item.as_ref()).await?)
        })
        .await
    }

    pub async fn delete_item(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.optimistic(|| async {
            let item = self.item(id).await?;
            item::delete_item(&item.value, &ctx.caller)?;
            let event = self.envelope(
                ctx,
                ev::ItemDeleted {
                    item_id: item.value.id.clone(),
                    seller_id: item.value.seller_id.clone(),
                },
            );
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
        let photo_id = self.new_id();
        self.optimistic(|| async {
            let item = self.item(item_id).await?;
            let key = format!(
                "{}{}/{}/{}",
                self.settings.uploads_prefix, ctx.caller, item.value.id, photo_id
            );
            let next = photo::add_photo(&item.value, &ctx.caller, &photo_id, key, ctx.now)?;
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

    /// Expires a listing nobody took by its expiresAt.
    pub async fn expire_listing(&self, ctx: &Ctx, item_id: &str) -> Result<Step> {
        self.optimistic(|| async {
            let Some(item) = self.store.item(item_id).await? else {
                return Ok(Step::Settled("the item is gone"));
            };
            let decision = item::expire_listing(&item.value, ctx.now);
            let Decision::Act(next) = decision else {
                return Ok(idle(&decision));
            };
            let event = self.envelope(
                ctx,
                ev::ItemExpired {
                    item_id: next.id.clone(),
                    seller_id: next.seller_id.clone(),
                },
            );
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
            let decision = match photo::settle_photo(&item.value, &photo.photo_id, outcome) {
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
                    self.envelope(
                        ctx,
                        ev::ImageProcessed {
                            item_id: next.id.clone(),
                            photo_key: key,
                            thumbnails: ev::Thumbnails {
                                small: size("128"),
                                medium: size("512"),
                                large: size("1024"),
                            },
                            labels: labels.clone(),
                        },
                    )
                }
                PhotoOutcome::Rejected { reason } => self.envelope(
                    ctx,
                    ev::ImageRejected {
                        item_id: next.id.clone(),
                        seller_id: next.seller_id.clone(),
                        photo_key: key,
                        reason: reason.clone(),
                    },
                ),
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
