//! The search index (`domain::search`) in a DynamoDB table of its own: no stream (its writes are not events),
//! no secondary index, derived from the listings alone (the index worker keeps it; replaying the item events
//! rebuilds it).
//!
//! | record | PK | SK | attributes |
//! |---|---|---|---|
//! | entry | `TERM#<term>` | `<ms>#<itemId>` (newest last) | the [`Entry`] |
//! | manifest | `ITEM#<itemId>` | `MANIFEST` | `version` (of the listing indexed), `entries` by term |
//!
//! A search queries each of its terms' partitions newest first, at most [`TERM_WINDOW`] entries each; a
//! listing catches up in one `TransactWriteItems` (the entries it drops, those it adds, its manifest, at most
//! 2 × 48 + 1 actions of the 100 allowed), conditional on the manifest being the one read.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use domain::item::Item;
use domain::search::*;
use domain::store::{Page, StoreError, Versioned};
use futures::future::try_join_all;
use tracing::instrument;

use super::commit::condition_failed;
use super::keys::*;
use super::records::*;
use crate::aws_error::to_store_error;

const MANIFEST: &str = "MANIFEST";

fn entry_key(term: &str, entry: &Entry) -> Attrs {
    key(
        format!("TERM#{term}"),
        time_key(entry.created_at, &entry.item_id),
    )
}

fn manifest_key(item_id: &str) -> Attrs {
    key(format!("ITEM#{item_id}"), MANIFEST)
}

/// The search table, as the domain's search index.
#[derive(Debug, Clone)]
pub struct DynamoIndex {
    client: Client,
    table: String,
}

impl DynamoIndex {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The newest entries of a term, at most [`TERM_WINDOW`] (a query stops at 1 MB too: read on until then).
    async fn term_entries(&self, term: &str) -> Result<Vec<Entry>, StoreError> {
        let mut found = vec![];
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(format!("TERM#{term}")))
                .scan_index_forward(false)
                .limit(i32::try_from(TERM_WINDOW - found.len()).unwrap_or(1))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(to_store_error)?;
            for attrs in out.items.unwrap_or_default() {
                found.push(from_attrs::<Entry>(attrs)?);
            }
            start = out.last_evaluated_key;
            if found.len() >= TERM_WINDOW || start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn manifest(&self, item_id: &str) -> Result<Option<Manifest>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(manifest_key(item_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(to_store_error)?;
        out.item.map(from_attrs).transpose()
    }

    fn put(&self, attrs: Attrs) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .build()
            .map_err(|e| StoreError::permanent(e.to_string()))
    }

    fn delete(&self, key: Attrs) -> Result<Delete, StoreError> {
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(|e| StoreError::permanent(e.to_string()))
    }

    /// The plan as one transaction: its entries, then its manifest, conditional on the manifest read.
    fn actions(
        &self,
        item_id: &str,
        recorded: Option<&Manifest>,
        plan: &SyncPlan,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut actions = vec![];
        for term in &plan.drop {
            if let Some(entry) = recorded.and_then(|m| m.entries.get(term)) {
                let delete = self.delete(entry_key(term, entry))?;
                actions.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        for (term, entry) in &plan.put {
            let mut attrs = to_attrs(entry)?;
            attrs.extend(entry_key(term, entry));
            let put = self.put(attrs)?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        let (condition, read) = match plan.read {
            Some(v) => ("#v = :v", Some(n(v))),
            None => ("attribute_not_exists(PK)", None),
        };
        let manifest = match &plan.manifest {
            Some(m) => {
                let mut attrs = to_attrs(m)?;
                attrs.extend(manifest_key(item_id));
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(attrs))
                    .condition_expression(condition);
                let put = match &read {
                    Some(v) => put
                        .expression_attribute_names("#v", "version")
                        .expression_attribute_values(":v", v.clone()),
                    None => put,
                };
                let put = put
                    .build()
                    .map_err(|e| StoreError::permanent(e.to_string()))?;
                TransactWriteItem::builder().put(put).build()
            }
            None => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(manifest_key(item_id)))
                    .condition_expression(condition);
                let delete = match &read {
                    Some(v) => delete
                        .expression_attribute_names("#v", "version")
                        .expression_attribute_values(":v", v.clone()),
                    None => delete,
                };
                let delete = delete
                    .build()
                    .map_err(|e| StoreError::permanent(e.to_string()))?;
                TransactWriteItem::builder().delete(delete).build()
            }
        };
        actions.push(manifest);
        Ok(actions)
    }
}

#[async_trait]
impl SearchIndex for DynamoIndex {
    #[instrument(skip(self), fields(terms = query.terms.len()), err)]
    async fn search(&self, query: &SearchQuery) -> Result<Page<Hit>, StoreError> {
        let per_term = try_join_all(
            query
                .terms
                .iter()
                .take(MAX_QUERY_TERMS)
                .map(|t| self.term_entries(t)),
        )
        .await?;
        Ok(rank(query, &per_term))
    }

    #[instrument(skip(self, item), fields(version = item.map(|i| i.version)), err)]
    async fn sync(
        &self,
        item_id: &str,
        item: Option<&Versioned<Item>>,
    ) -> Result<Synced, StoreError> {
        let recorded = self.manifest(item_id).await?;
        let Some(plan) = plan_sync(recorded.as_ref(), item) else {
            return Ok(Synced::Current);
        };
        let actions = self.actions(item_id, recorded.as_ref(), &plan)?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Synced::Updated {
                put: plan.put.len(),
                dropped: plan.drop.len(),
            }),
            // Another message of the listing caught up first: the caller reads the listing again.
            Err(e) if condition_failed(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(to_store_error(e)),
        }
    }
}

#[cfg(test)]
mod tests;
