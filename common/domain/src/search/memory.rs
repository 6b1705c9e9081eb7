//! The index in memory: the port's reference semantics, for the use-cases' and the API's tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::*;

#[derive(Default)]
struct State {
    /// By term, then by position (newest last).
    terms: HashMap<String, BTreeMap<Cursor, Entry>>,
    manifests: HashMap<String, Manifest>,
}

#[derive(Default)]
pub struct MemoryIndex {
    state: Mutex<State>,
}

impl MemoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many entries the index keeps in all.
    pub fn len(&self) -> usize {
        self.state().terms.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SearchIndex for MemoryIndex {
    async fn search(&self, query: &SearchQuery) -> Result<Page<Hit>, StoreError> {
        let state = self.state();
        let per_term: Vec<Vec<Entry>> = query
            .terms
            .iter()
            .take(MAX_QUERY_TERMS)
            .map(|t| {
                state
                    .terms
                    .get(t)
                    .map(|e| e.values().rev().take(TERM_WINDOW).cloned().collect())
                    .unwrap_or_default()
            })
            .collect();
        Ok(rank(query, &per_term))
    }

    async fn sync(
        &self,
        item_id: &str,
        item: Option<&Versioned<Item>>,
    ) -> Result<Synced, StoreError> {
        let mut state = self.state();
        let Some(plan) = plan_sync(state.manifests.get(item_id), item) else {
            return Ok(Synced::Current);
        };
        let old = state.manifests.get(item_id).cloned();
        for term in &plan.drop {
            if let (Some(list), Some(entry)) = (
                state.terms.get_mut(term),
                old.as_ref().and_then(|m| m.entries.get(term)),
            ) {
                list.remove(&entry.position());
            }
        }
        for (term, entry) in &plan.put {
            let list = state.terms.entry(term.clone()).or_default();
            list.insert(entry.position(), entry.clone());
        }
        match plan.manifest {
            Some(m) => state.manifests.insert(item_id.to_owned(), m),
            None => state.manifests.remove(item_id),
        };
        Ok(Synced::Updated {
            put: plan.put.len(),
            dropped: plan.drop.len(),
        })
    }
}
