//! Reads: records by key (consistently, or a batch of items), listings through the indexes (GSI1 location
//! cells, GSI2 categories) under a read budget, an auction's bids by amount, and the listings past their
//! expiry.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{DateTime, Utc};
use domain::auction::Bid;
use domain::geo;
use domain::item::{Category, Item, ItemStatus};
use domain::store::{
    bids_page, browse_page, listed_page, partition_budget, BrowseQuery, Listed, Listing, Page,
    PartitionRead, StoreError, MAX_BROWSE_PARTITIONS,
};
use futures::future::try_join_all;
use serde::de::DeserializeOwned;
use tracing::instrument;

use super::keys::*;
use super::records::*;
use super::DynamoStore;
use crate::aws_error::to_store_error;

impl DynamoStore {
    pub(super) async fn get(&self, key: Attrs) -> Result<Option<Attrs>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(to_store_error)?;
        Ok(out.item)
    }

    /// The matching items of one index partition, newest first, from `after` on: until `want` match or
    /// `budget` entries were read, whichever comes first.
    async fn index_rows(
        &self,
        index: &str,
        partition: String,
        query: &BrowseQuery,
        want: usize,
        budget: usize,
    ) -> Result<PartitionRead, StoreError> {
        let (pk, sk) = (format!("{index}PK"), format!("{index}SK"));
        let mut read = PartitionRead::default();
        let mut entries = 0;
        let mut start = None;
        loop {
            // A first request of about a page, then the rest of the budget.
            let chunk = match entries {
                0 => want.max(10).min(budget),
                _ => budget - entries,
            };
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .scan_index_forward(false)
                .limit(i32::try_from(chunk).unwrap_or(100))
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
            let out = q.send().await.map_err(to_store_error)?;
            let mut last = None;
            for attrs in out.items.unwrap_or_default() {
                let item: Item = from_attrs(attrs)?;
                entries += 1;
                last = Some(item.position());
                if query.matches(&item) {
                    read.matched.push(item);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(read);
            }
            if read.matched.len() >= want || entries >= budget {
                read.stopped_at = last.or(query.after.clone());
                return Ok(read);
            }
        }
    }

    /// A page of one of a user's lists: one query per status asked for (none: the list's entries carry no
    /// status), each reading at most a page and two entries (the cursor's own entry may come back, as the
    /// range is inclusive), merged newest first. So a page reads at most `statuses x (limit + 2)` entries.
    #[instrument(skip(self, statuses), err)]
    pub(super) async fn user_list<T: DeserializeOwned + Listed>(
        &self,
        list: UserList<'_>,
        statuses: &[&str],
        page: &Listing,
    ) -> Result<Page<T>, StoreError> {
        let prefixes: Vec<Option<&str>> = if statuses.is_empty() {
            vec![None]
        } else {
            statuses.iter().copied().map(Some).collect()
        };
        let want = page.limit + 2;
        let rows = try_join_all(
            prefixes
                .into_iter()
                .map(|status| self.user_list_rows(list, status, page, want)),
        )
        .await?;
        let mut found = vec![];
        for attrs in rows.into_iter().flatten() {
            let record: T = from_attrs(attrs)?;
            if page.follows(&record) {
                found.push(record);
            }
        }
        Ok(listed_page(found, page.limit))
    }

    /// Up to `want` entries of one status of a user list, newest first, from the cursor on.
    async fn user_list_rows(
        &self,
        list: UserList<'_>,
        status: Option<&str>,
        page: &Listing,
        want: usize,
    ) -> Result<Vec<Attrs>, StoreError> {
        let index = list.index();
        let (pk, sk) = (format!("{index}PK"), format!("{index}SK"));
        let prefix = status.map(|s| format!("{s}#"));
        let mut found = vec![];
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .scan_index_forward(false)
                .limit(i32::try_from(want - found.len()).unwrap_or(100))
                .set_exclusive_start_key(start.take())
                .expression_attribute_names("#pk", pk.as_str())
                .expression_attribute_values(":pk", s(list.partition()));
            let upto = page.after.as_ref().map(|c| listed_key(status, c.at, &c.id));
            q = match (&prefix, upto) {
                (Some(prefix), Some(upto)) => q
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_names("#sk", sk.as_str())
                    .expression_attribute_values(":lo", s(prefix.clone()))
                    .expression_attribute_values(":hi", s(upto)),
                (Some(prefix), None) => q
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :lo)")
                    .expression_attribute_names("#sk", sk.as_str())
                    .expression_attribute_values(":lo", s(prefix.clone())),
                (None, Some(upto)) => q
                    .key_condition_expression("#pk = :pk AND #sk < :hi")
                    .expression_attribute_names("#sk", sk.as_str())
                    .expression_attribute_values(":hi", s(upto)),
                (None, None) => q.key_condition_expression("#pk = :pk"),
            };
            let out = q.send().await.map_err(to_store_error)?;
            found.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            // A query stops at 1 MB too: read on until a page's worth or the end.
            if found.len() >= want || start.is_none() {
                return Ok(found);
            }
        }
    }

    #[instrument(skip(self), err)]
    pub(super) async fn bid_page(
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
        let out = q.send().await.map_err(to_store_error)?;
        let mut rows = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs::<Bid>)
            .collect::<Result<Vec<_>, _>>()?;
        rows.retain(|b| below.is_none_or(|c| b.amount < c));
        Ok(bids_page(rows, limit))
    }

    /// A browse reads at most [`domain::store::BROWSE_READ_BUDGET`] entries: the location cells covering its circle (at
    /// most [`MAX_BROWSE_PARTITIONS`]; more, and the category partitions are read instead, by distance), or
    /// its category's partition, or every category's, each its share of the budget ([`partition_budget`]).
    #[instrument(skip(self), err)]
    pub(super) async fn browse_items(&self, query: &BrowseQuery) -> Result<Page<Item>, StoreError> {
        let by_category = |category: Option<Category>| -> Vec<(&'static str, String)> {
            let categories = match category {
                Some(c) => vec![c],
                None => Category::ALL.to_vec(),
            };
            categories
                .into_iter()
                .map(|c| ("GSI2", format!("CAT#{c}")))
                .collect()
        };
        let partitions = match query.near {
            Some((lat, lon, radius)) => {
                let cells = geo::cells_covering(lat, lon, radius, geo::INDEX_PRECISION);
                if cells.len() <= MAX_BROWSE_PARTITIONS {
                    cells
                        .into_iter()
                        .map(|cell| ("GSI1", format!("GEO#{cell}")))
                        .collect()
                } else {
                    by_category(query.category)
                }
            }
            None => by_category(query.category),
        };
        // One more than a page from each partition: enough to know whether another page follows.
        let (want, budget) = (query.limit + 1, partition_budget(partitions.len()));
        let reads = try_join_all(
            partitions
                .into_iter()
                .map(|(index, partition)| self.index_rows(index, partition, query, want, budget)),
        )
        .await?;
        Ok(browse_page(reads, query.limit))
    }

    /// The items of these ids that exist (BatchGetItem: at most 100 keys; keys DynamoDB leaves unprocessed
    /// under load are asked for again, a few times).
    #[instrument(skip(self, ids), fields(ids = ids.len()), err)]
    pub(super) async fn batch_items(&self, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        let keys: Vec<Attrs> = ids.iter().take(100).map(|id| item_key(id)).collect();
        let mut pending = Some(HashMap::from([(
            self.table.clone(),
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| StoreError::permanent(e.to_string()))?,
        )]));
        let mut found = vec![];
        for attempt in 0..5u64 {
            let Some(request) = pending.take().filter(|p| !p.is_empty()) else {
                return Ok(found);
            };
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(to_store_error)?;
            for attrs in out.responses.unwrap_or_default().into_values().flatten() {
                found.push(from_attrs(attrs)?);
            }
            pending = out.unprocessed_keys;
        }
        match pending.filter(|p| !p.is_empty()) {
            None => Ok(found),
            Some(_) => Err(StoreError::Throttled),
        }
    }

    #[instrument(skip(self), err)]
    pub(super) async fn stale_ids(
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
                    .map_err(to_store_error)?;
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
}

#[cfg(test)]
mod tests;
