//! The domain's [`Store`] on the single DynamoDB table of DOMAIN.md.
//!
//! | record | PK | SK | indexes |
//! |---|---|---|---|
//! | item | `ITEM#id` | `METADATA` | GSI1 `GEO#<geohash4>` / GSI2 `CAT#<category>` (only while listed), GSI3 `SELLER#id` |
//! | reservation | `ITEM#itemId` | `RESERVATION#id` | |
//! | auction | `AUCTION#id` | `METADATA` | |
//! | bid | `AUCTION#id` | `BID#<amount>#bidId` | |
//! | profile | `USER#id` | `PROFILE` | GSI1 `HOME#<geohash5>` (once a home is set) |
//! | device | `USER#id` | `DEVICE#<token hash>` | |
//! | rating | `RATING#rateeId` | `FROM#raterId#about` | |
//! | request (Idempotency-Key) | `REQUEST#<key>` | `REQUEST` | TTL |
//!
//! Entities are stored as their serde form (`serde_dynamo`) plus keys and a `version`. A [`Change`] is one
//! `TransactWriteItems`: each replacing write is conditional on the version it was decided from (or on the
//! record being new), new bids and ratings on not existing, and the change's events go in as outbox items.
//!
//! Bids sort by amount, not by time as DOMAIN.md's table has it: each accepted bid tops the one before, so the
//! amount orders them exactly as they were accepted, where two bids in one millisecond (or a bid decided again
//! after a race) would leave time order ambiguous.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{DateTime, Utc};
use domain::geo;
use domain::model::*;
use domain::store::*;
use futures::future::try_join_all;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::instrument;

use crate::aws_error::{classify, Retry};
use crate::outbox;

type Attrs = HashMap<String, AttributeValue>;

const METADATA: &str = "METADATA";
const PROFILE: &str = "PROFILE";
/// How long an `Idempotency-Key` is remembered, and how long a request may hold it while running.
const KEEP_REQUESTS_SECS: i64 = 24 * 3600;
const REQUEST_IN_PROGRESS_SECS: i64 = 60;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: impl Into<String>) -> Attrs {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// Sort key of time-ordered rows: zero-padded epoch milliseconds, then the id (orders as [`Cursor`] does).
fn time_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{:013}#{id}", at.timestamp_millis())
}

/// Sort key of bids: zero-padded cents (amounts are at most `rules::MAX_CENTS`), then the id.
fn amount_key(amount: i64, id: &str) -> String {
    format!("{amount:012}#{id}")
}

fn item_key(id: &str) -> Attrs {
    key(format!("ITEM#{id}"), METADATA)
}

fn reservation_key(item_id: &str, id: &str) -> Attrs {
    key(format!("ITEM#{item_id}"), format!("RESERVATION#{id}"))
}

fn auction_key(id: &str) -> Attrs {
    key(format!("AUCTION#{id}"), METADATA)
}

fn profile_key(user_id: &str) -> Attrs {
    key(format!("USER#{user_id}"), PROFILE)
}

fn request_key(k: &str) -> Attrs {
    key(format!("REQUEST#{k}"), "REQUEST")
}

pub(crate) fn store_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    e: SdkError<E, HttpResponse>,
) -> StoreError {
    let throttled = e
        .as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| {
            aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&c)
                || c == "ProvisionedThroughputExceededException"
                || c == "RequestLimitExceeded"
        });
    if throttled {
        return StoreError::Throttled;
    }
    match classify(&e) {
        Retry::Transient => StoreError::Unavailable(format!("transient: {}", DisplayChain(&e))),
        Retry::Permanent => StoreError::Unavailable(DisplayChain(&e).to_string()),
    }
}

/// An error and its sources on one line, for logs (never for API responses).
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

fn to_attrs<T: Serialize>(value: &T) -> Result<Attrs, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Unavailable(format!("encoding: {e}")))
}

fn from_attrs<T: DeserializeOwned>(attrs: Attrs) -> Result<T, StoreError> {
    serde_dynamo::from_item(attrs).map_err(|e| StoreError::Unavailable(format!("decoding: {e}")))
}

fn versioned<T: DeserializeOwned>(attrs: Attrs) -> Result<Versioned<T>, StoreError> {
    let version = match attrs.get("version") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    };
    Ok(Versioned {
        value: from_attrs(attrs)?,
        version,
    })
}

/// The stored form of an item: its fields, keys, version and index keys (GSI1/GSI2 only while listed, so
/// browsing reads listed items only).
fn item_record(item: &Item, version: u64) -> Result<Attrs, StoreError> {
    let mut attrs = to_attrs(item)?;
    attrs.extend(item_key(&item.id));
    attrs.insert("entity".into(), s("ITEM"));
    attrs.insert("version".into(), n(version));
    let at = time_key(item.created_at, &item.id);
    if item.status.is_listed() {
        let cell: String = item
            .location
            .geohash
            .chars()
            .take(geo::INDEX_PRECISION)
            .collect();
        attrs.insert("GSI1PK".into(), s(format!("GEO#{cell}")));
        attrs.insert("GSI1SK".into(), s(at.clone()));
        attrs.insert("GSI2PK".into(), s(format!("CAT#{}", item.category)));
        attrs.insert("GSI2SK".into(), s(at.clone()));
    }
    attrs.insert("GSI3PK".into(), s(format!("SELLER#{}", item.seller_id)));
    attrs.insert("GSI3SK".into(), s(format!("{}#{at}", item.status)));
    Ok(attrs)
}

fn record<T: Serialize>(
    value: &T,
    keys: Attrs,
    entity: &str,
    version: u64,
) -> Result<Attrs, StoreError> {
    let mut attrs = to_attrs(value)?;
    attrs.extend(keys);
    attrs.insert("entity".into(), s(entity));
    attrs.insert("version".into(), n(version));
    Ok(attrs)
}

/// A user's profile as stored: counters are top-level attributes so `ADD` can move them.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ProfileRecord {
    id: String,
    display_name: Option<String>,
    home: Option<HomeLocation>,
    rating_sum: u32,
    rating_count: u32,
    items_given: u32,
    items_received: u32,
    auctions_won: u32,
    auctions_sold: u32,
}

impl From<ProfileRecord> for UserProfile {
    fn from(r: ProfileRecord) -> Self {
        UserProfile {
            id: r.id,
            display_name: r.display_name,
            home: r.home,
            rating_sum: r.rating_sum,
            rating_count: r.rating_count,
            stats: Stats {
                items_given: r.items_given,
                items_received: r.items_received,
                auctions_won: r.auctions_won,
                auctions_sold: r.auctions_sold,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Unavailable(format!("building a request: {e}")))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn put(&self, item: Attrs, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        Ok(TransactWriteItem::builder()
            .put(build(put.build())?)
            .build())
    }

    fn versioned_put(&self, item: Attrs, expect: Expect) -> Result<TransactWriteItem, StoreError> {
        match expect {
            Expect::New => self.put(item, Some("attribute_not_exists(PK)")),
            Expect::Version(v) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", n(v));
                Ok(TransactWriteItem::builder()
                    .put(build(put.build())?)
                    .build())
            }
        }
    }

    fn update(
        &self,
        key: Attrs,
        expression: String,
        values: Attrs,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values));
        Ok(TransactWriteItem::builder()
            .update(build(update.build())?)
            .build())
    }

    fn next(expect: Expect) -> u64 {
        match expect {
            Expect::New => 1,
            Expect::Version(v) => v + 1,
        }
    }

    fn write(&self, write: &Write) -> Result<TransactWriteItem, StoreError> {
        match write {
            Write::Item(item, expect) => {
                self.versioned_put(item_record(item, Self::next(*expect))?, *expect)
            }
            Write::DeleteItem { id, version } => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(item_key(id)))
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", n(version));
                Ok(TransactWriteItem::builder()
                    .delete(build(delete.build())?)
                    .build())
            }
            Write::Reservation(r, expect) => self.versioned_put(
                record(
                    r,
                    reservation_key(&r.item_id, &r.id),
                    "RESERVATION",
                    Self::next(*expect),
                )?,
                *expect,
            ),
            Write::Auction(a, expect) => self.versioned_put(
                record(a, auction_key(&a.id), "AUCTION", Self::next(*expect))?,
                *expect,
            ),
            Write::Bid(b) => self.put(
                record(
                    b,
                    key(
                        format!("AUCTION#{}", b.auction_id),
                        format!("BID#{}", amount_key(b.amount, &b.bid_id)),
                    ),
                    "BID",
                    1,
                )?,
                Some("attribute_not_exists(PK)"),
            ),
            Write::Rating(r) => self.put(
                record(
                    r,
                    key(
                        format!("RATING#{}", r.ratee_id),
                        format!("FROM#{}#{}", r.rater_id, r.about),
                    ),
                    "RATING",
                    1,
                )?,
                Some("attribute_not_exists(PK)"),
            ),
            Write::Device { user_id, device } => {
                let keys = key(
                    format!("USER#{user_id}"),
                    format!("DEVICE#{}", device.token_hash),
                );
                // A device registered again replaces its record (a refreshed endpoint).
                self.put(record(device, keys, "DEVICE", 1)?, None)
            }
            Write::Profile {
                user_id,
                display_name,
                home,
            } => {
                let mut sets = vec!["id = :id".to_owned(), "entity = :entity".to_owned()];
                let mut values = HashMap::from([
                    (":id".to_owned(), s(user_id.clone())),
                    (":entity".to_owned(), s("USER")),
                ]);
                if let Some(name) = display_name {
                    sets.push("displayName = :name".into());
                    values.insert(":name".into(), s(name.clone()));
                }
                if let Some(home) = home {
                    // GSI1 finds the users living around a new item (notify::Audience::Near).
                    sets.push("home = :home, GSI1PK = :home_pk, GSI1SK = :home_sk".into());
                    values.insert(":home".into(), AttributeValue::M(to_attrs(home)?));
                    values.insert(":home_pk".into(), s(format!("HOME#{}", home.geohash)));
                    values.insert(":home_sk".into(), s(format!("USER#{user_id}")));
                }
                self.update(
                    profile_key(user_id),
                    format!("SET {}", sets.join(", ")),
                    values,
                )
            }
            Write::AddStats { user_id, stats } => {
                let mut values = HashMap::from([
                    (":id".to_owned(), s(user_id.clone())),
                    (":entity".to_owned(), s("USER")),
                ]);
                let mut adds = vec![];
                for (name, delta) in [
                    ("itemsGiven", stats.items_given),
                    ("itemsReceived", stats.items_received),
                    ("auctionsWon", stats.auctions_won),
                    ("auctionsSold", stats.auctions_sold),
                ] {
                    if delta > 0 {
                        adds.push(format!("{name} :{name}"));
                        values.insert(format!(":{name}"), n(delta));
                    }
                }
                self.update(
                    profile_key(user_id),
                    format!("SET id = :id, entity = :entity ADD {}", adds.join(", ")),
                    values,
                )
            }
            Write::AddRating { user_id, stars } => self.update(
                profile_key(user_id),
                "SET id = :id, entity = :entity ADD ratingSum :stars, ratingCount :one".into(),
                HashMap::from([
                    (":id".to_owned(), s(user_id.clone())),
                    (":entity".to_owned(), s("USER")),
                    (":stars".to_owned(), n(stars)),
                    (":one".to_owned(), n(1)),
                ]),
            ),
        }
    }

    async fn get(&self, key: Attrs) -> Result<Option<Attrs>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item)
    }

    /// Up to `want` matching items of one index partition, newest first, from `after` on.
    async fn index_rows(
        &self,
        index: &str,
        partition: String,
        query: &BrowseQuery,
        want: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let (pk, sk) = (format!("{index}PK"), format!("{index}SK"));
        let mut found = vec![];
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .scan_index_forward(false)
                .limit(i32::try_from(want.max(10)).unwrap_or(100))
                .set_exclusive_start_key(start.take())
                .expression_attribute_names("#pk", pk.as_str())
                .expression_attribute_values(":pk", s(partition.clone()));
            q = match &query.after {
                Some(c) => q
                    .key_condition_expression("#pk = :pk AND #sk < :after")
                    .expression_attribute_names("#sk", sk.as_str())
                    .expression_attribute_values(":after", s(time_key(c.at, &c.id))),
                None => q.key_condition_expression("#pk = :pk"),
            };
            let out = q.send().await.map_err(store_error)?;
            for attrs in out.items.unwrap_or_default() {
                let item: Item = from_attrs(attrs)?;
                if query.matches(&item) {
                    found.push(item);
                }
            }
            start = out.last_evaluated_key;
            if found.len() >= want || start.is_none() {
                return Ok(found);
            }
        }
    }
}

fn condition_failed(e: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
    match e.as_service_error() {
        // A condition failed, or another transaction was writing the same record: either way the state may
        // have moved, so the caller reads it again and decides again.
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
            let reasons = t.cancellation_reasons();
            reasons.is_empty()
                || reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("ConditionalCheckFailed") | Some("TransactionConflict")
                    )
                })
        }
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        _ => false,
    }
}

#[async_trait]
impl Store for DynamoStore {
    #[instrument(skip(self), err)]
    async fn item(&self, id: &str) -> Result<Option<Versioned<Item>>, StoreError> {
        self.get(item_key(id)).await?.map(versioned).transpose()
    }

    #[instrument(skip(self), err)]
    async fn reservation(
        &self,
        item_id: &str,
        id: &str,
    ) -> Result<Option<Versioned<Reservation>>, StoreError> {
        self.get(reservation_key(item_id, id))
            .await?
            .map(versioned)
            .transpose()
    }

    #[instrument(skip(self), err)]
    async fn auction(&self, id: &str) -> Result<Option<Versioned<Auction>>, StoreError> {
        self.get(auction_key(id)).await?.map(versioned).transpose()
    }

    #[instrument(skip(self), err)]
    async fn profile(&self, user_id: &str) -> Result<Option<UserProfile>, StoreError> {
        match self.get(profile_key(user_id)).await? {
            Some(attrs) => Ok(Some(from_attrs::<ProfileRecord>(attrs)?.into())),
            None => Ok(None),
        }
    }

    #[instrument(skip(self), err)]
    async fn bids(
        &self,
        auction_id: &str,
        below: Option<i64>,
        limit: usize,
    ) -> Result<Page<Bid>, StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(101))
            .expression_attribute_values(":pk", s(format!("AUCTION#{auction_id}")));
        q = match below {
            // Every bid of a lower amount sorts below "BID#<amount>#" ('#' sorts before any id).
            Some(amount) => q
                .key_condition_expression("PK = :pk AND SK BETWEEN :lo AND :hi")
                .expression_attribute_values(":lo", s("BID#"))
                .expression_attribute_values(":hi", s(format!("BID#{amount:012}#"))),
            None => q
                .key_condition_expression("PK = :pk AND begins_with(SK, :bid)")
                .expression_attribute_values(":bid", s("BID#")),
        };
        let out = q.send().await.map_err(store_error)?;
        let mut rows = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs::<Bid>)
            .collect::<Result<Vec<_>, _>>()?;
        rows.retain(|b| below.is_none_or(|c| b.amount < c));
        Ok(bids_page(rows, limit))
    }

    #[instrument(skip(self), err)]
    async fn browse(&self, query: &BrowseQuery) -> Result<Page<Item>, StoreError> {
        // One more than a page from each partition: enough to know whether another page follows.
        let want = query.limit + 1;
        let rows: Vec<Item> = match (query.near, query.category) {
            (Some((lat, lon, radius)), _) => {
                let cells = geo::cells_covering(lat, lon, radius, geo::INDEX_PRECISION);
                try_join_all(
                    cells
                        .into_iter()
                        .map(|cell| self.index_rows("GSI1", format!("GEO#{cell}"), query, want)),
                )
                .await?
                .into_iter()
                .flatten()
                .collect()
            }
            (None, Some(category)) => {
                self.index_rows("GSI2", format!("CAT#{category}"), query, want)
                    .await?
            }
            (None, None) => vec![],
        };
        Ok(items_page(rows, query.limit))
    }

    #[instrument(skip(self), err)]
    async fn stale_listings(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // GSI2 holds exactly the listed items, one partition per category.
        let mut ids = vec![];
        for category in Category::ALL {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("GSI2")
                    .key_condition_expression("GSI2PK = :pk")
                    .filter_expression("#status = :available")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":pk", s(format!("CAT#{category}")))
                    .expression_attribute_values(":available", s(ItemStatus::Available.as_str()))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(store_error)?;
                for attrs in out.items.unwrap_or_default() {
                    let item: Item = from_attrs(attrs)?;
                    if item.expires_at <= now {
                        ids.push(item.id);
                    }
                }
                if ids.len() >= limit {
                    ids.truncate(limit);
                    return Ok(ids);
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(ids)
    }

    #[instrument(skip_all, fields(writes = change.writes.len(), events = change.events.len()), err)]
    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut items = change
            .writes
            .iter()
            .map(|w| self.write(w))
            .collect::<Result<Vec<_>, _>>()?;
        for envelope in &change.events {
            items.push(
                outbox::transact_put(&self.table, envelope, now)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(store_error(e)),
        }
    }

    #[instrument(skip(self, fingerprint), err)]
    async fn claim_request(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut item = request_key(key);
        item.insert("fingerprint".into(), s(fingerprint));
        item.insert("status".into(), s("IN_PROGRESS"));
        item.insert(
            "inProgressUntil".into(),
            n(now.timestamp() + REQUEST_IN_PROGRESS_SECS),
        );
        item.insert("ttl".into(), n(now.timestamp() + KEEP_REQUESTS_SECS));
        let claimed = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR (#s = :running AND inProgressUntil < :now)",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":running", s("IN_PROGRESS"))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match claimed {
            Ok(_) => return Ok(Claim::Fresh),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                match e.into_err() {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                }
            }
            Err(e) => return Err(store_error(e)),
        };
        // moto (and older DynamoDB answers) may leave the old item out: read it.
        let old = match old {
            Some(old) => old,
            None => match self.get(request_key(key)).await? {
                Some(old) => old,
                None => return Ok(Claim::InProgress),
            },
        };
        let text = |name: &str| match old.get(name) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => String::new(),
        };
        if text("fingerprint") != fingerprint {
            return Ok(Claim::Mismatch);
        }
        if text("status") != "COMPLETED" {
            return Ok(Claim::InProgress);
        }
        let status = match old.get("responseStatus") {
            Some(AttributeValue::N(v)) => v.parse().unwrap_or(200),
            _ => 200,
        };
        let body = match old.get("body") {
            Some(AttributeValue::B(b)) => b.clone().into_inner(),
            _ => vec![],
        };
        Ok(Claim::Replay(StoredResponse {
            status,
            content_type: text("contentType"),
            body,
        }))
    }

    #[instrument(skip(self, fingerprint, response), err)]
    async fn finish_request(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = request_key(key);
        item.insert("fingerprint".into(), s(fingerprint));
        item.insert("status".into(), s("COMPLETED"));
        item.insert("responseStatus".into(), n(response.status));
        item.insert("contentType".into(), s(response.content_type));
        item.insert("body".into(), AttributeValue::B(Blob::new(response.body)));
        item.insert("ttl".into(), n(now.timestamp() + KEEP_REQUESTS_SECS));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    #[instrument(skip(self), err)]
    async fn release_request(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(request_key(key)))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[async_trait]
impl domain::notify::Directory for DynamoStore {
    #[instrument(skip(self), err)]
    async fn users_near(&self, cells: &[String]) -> Result<Vec<String>, StoreError> {
        let per_cell = try_join_all(cells.iter().map(|cell| async move {
            let mut ids = vec![];
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("GSI1")
                    .key_condition_expression("GSI1PK = :pk")
                    .expression_attribute_values(":pk", s(format!("HOME#{cell}")))
                    .projection_expression("id")
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(store_error)?;
                ids.extend(
                    out.items
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|mut a| a.remove("id")?.as_s().ok().cloned()),
                );
                start = out.last_evaluated_key;
                if start.is_none() {
                    return Ok::<_, StoreError>(ids);
                }
            }
        }))
        .await?;
        let mut ids: Vec<String> = per_cell.into_iter().flatten().collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    #[instrument(skip(self), err)]
    async fn endpoints(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :device)")
            .expression_attribute_values(":pk", s(format!("USER#{user_id}")))
            .expression_attribute_values(":device", s("DEVICE#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs::<Device>)
            .filter_map(|d| d.map(|d| d.endpoint_arn).transpose())
            .collect()
    }
}
