//! The store in memory: the port's reference semantics, for the use-cases' and the API's tests and for the
//! API benchmark (the store excluded). One lock; a change is checked whole, then applied whole.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::item::ItemStatus;

#[derive(Default)]
struct State {
    items: HashMap<String, Versioned<Item>>,
    reservations: HashMap<String, Versioned<Reservation>>,
    auctions: HashMap<String, Versioned<Auction>>,
    bids: HashMap<String, Vec<Bid>>,
    profiles: HashMap<String, UserProfile>,
    /// By (ratee, rater, deal).
    ratings: HashMap<(String, String, String), Rating>,
    devices: HashMap<(String, String), Device>,
    events: Vec<Envelope>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

fn expected<T>(current: Option<&Versioned<T>>, expect: Expect) -> bool {
    match (current, expect) {
        (None, Expect::New) => true,
        (Some(c), Expect::Version(v)) => c.version == v,
        _ => false,
    }
}

fn next_version<T>(current: Option<&Versioned<T>>) -> u64 {
    current.map_or(1, |c| c.version + 1)
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (changes apply after all checks).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every event committed so far, in order.
    pub fn events(&self) -> Vec<Envelope> {
        self.state().events.clone()
    }

    /// The devices registered for a user.
    pub fn devices(&self, user_id: &str) -> Vec<Device> {
        let state = self.state();
        let mut devices: Vec<_> = state
            .devices
            .iter()
            .filter(|((u, _), _)| u == user_id)
            .map(|(_, d)| d.clone())
            .collect();
        devices.sort_by(|a, b| a.token_hash.cmp(&b.token_hash));
        devices
    }

    fn check(state: &State, write: &Write) -> bool {
        match write {
            Write::Item(item, expect) => expected(state.items.get(&item.id), *expect),
            Write::DeleteItem { id, version } => {
                expected(state.items.get(id), Expect::Version(*version))
            }
            Write::Reservation(r, expect) => expected(state.reservations.get(&r.id), *expect),
            Write::Auction(a, expect) => expected(state.auctions.get(&a.id), *expect),
            Write::Rating(r) => !state.ratings.contains_key(&(
                r.ratee_id.clone(),
                r.rater_id.clone(),
                r.about.clone(),
            )),
            Write::AccountStanding { user_id, from, .. } => state
                .profiles
                .get(user_id)
                .is_some_and(|p| p.account == *from),
            Write::Bid(_)
            | Write::CloseAccount { .. }
            | Write::Profile { .. }
            | Write::AddStats { .. }
            | Write::AddRating { .. }
            | Write::Device { .. }
            | Write::RemoveDevice { .. } => true,
        }
    }

    fn apply(state: &mut State, write: Write) {
        match write {
            Write::Item(item, _) => {
                let version = next_version(state.items.get(&item.id));
                state.items.insert(
                    item.id.clone(),
                    Versioned {
                        value: item,
                        version,
                    },
                );
            }
            Write::DeleteItem { id, .. } => {
                state.items.remove(&id);
            }
            Write::Reservation(r, _) => {
                let version = next_version(state.reservations.get(&r.id));
                state
                    .reservations
                    .insert(r.id.clone(), Versioned { value: r, version });
            }
            Write::Auction(a, _) => {
                let version = next_version(state.auctions.get(&a.id));
                state
                    .auctions
                    .insert(a.id.clone(), Versioned { value: a, version });
            }
            Write::Bid(bid) => state
                .bids
                .entry(bid.auction_id.clone())
                .or_default()
                .push(bid),
            Write::Rating(r) => {
                let key = (r.ratee_id.clone(), r.rater_id.clone(), r.about.clone());
                state.ratings.insert(key, r);
            }
            Write::Profile {
                user_id,
                display_name,
                home,
                email,
                notifications,
            } => {
                let p = Self::profile_mut(state, &user_id);
                if display_name.is_some() {
                    p.display_name = display_name;
                }
                if home.is_some() {
                    p.home = home;
                }
                if email.is_some() {
                    p.email = email;
                }
                if let Some(n) = notifications {
                    p.notifications = n;
                }
            }
            Write::CloseAccount { user_id } => {
                let p = Self::profile_mut(state, &user_id);
                *p = UserProfile {
                    id: p.id.clone(),
                    member_since: p.member_since,
                    rating_sum: p.rating_sum,
                    rating_count: p.rating_count,
                    stats: p.stats,
                    account: crate::profile::Account::Deleted,
                    ..UserProfile::default()
                };
            }
            Write::AccountStanding { user_id, to, .. } => {
                Self::profile_mut(state, &user_id).account = to;
            }
            Write::AddStats { user_id, stats } => {
                let p = &mut Self::profile_mut(state, &user_id).stats;
                p.items_given += stats.items_given;
                p.items_received += stats.items_received;
                p.auctions_won += stats.auctions_won;
                p.auctions_sold += stats.auctions_sold;
            }
            Write::AddRating { user_id, stars } => {
                let p = Self::profile_mut(state, &user_id);
                p.rating_sum += u32::from(stars);
                p.rating_count += 1;
            }
            Write::Device { user_id, device } => {
                state
                    .devices
                    .insert((user_id, device.token_hash.clone()), device);
            }
            Write::RemoveDevice {
                user_id,
                token_hash,
            } => {
                state.devices.remove(&(user_id, token_hash));
            }
        }
    }

    fn profile_mut<'a>(state: &'a mut State, user_id: &str) -> &'a mut UserProfile {
        state
            .profiles
            .entry(user_id.to_owned())
            .or_insert_with(|| UserProfile {
                id: user_id.to_owned(),
                // Stamped by the store, as the table's first write of the profile does.
                member_since: Some(Utc::now()),
                ..UserProfile::default()
            })
    }

    /// The rows of one of a user's lists that `page` asks for, as a page.
    fn listed<T: Listed + Clone>(rows: impl Iterator<Item = T>, page: &Listing) -> Page<T> {
        listed_page(rows.filter(|r| page.follows(r)).collect(), page.limit)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        Ok(MemoryStore::devices(self, user_id))
    }

    async fn item(&self, id: &str) -> Result<Option<Versioned<Item>>, StoreError> {
        Ok(self.state().items.get(id).cloned())
    }

    async fn reservation(
        &self,
        item_id: &str,
        id: &str,
    ) -> Result<Option<Versioned<Reservation>>, StoreError> {
        Ok(self
            .state()
            .reservations
            .get(id)
            .filter(|r| r.value.item_id == item_id)
            .cloned())
    }

    async fn auction(&self, id: &str) -> Result<Option<Versioned<Auction>>, StoreError> {
        Ok(self.state().auctions.get(id).cloned())
    }

    async fn profile(&self, user_id: &str) -> Result<Option<UserProfile>, StoreError> {
        Ok(self.state().profiles.get(user_id).cloned())
    }

    async fn bids(
        &self,
        auction_id: &str,
        below: Option<i64>,
        limit: usize,
    ) -> Result<Page<Bid>, StoreError> {
        let rows: Vec<Bid> = self
            .state()
            .bids
            .get(auction_id)
            .into_iter()
            .flatten()
            .filter(|b| below.is_none_or(|c| b.amount < c))
            .cloned()
            .collect();
        Ok(bids_page(rows, limit))
    }

    async fn browse(&self, query: &BrowseQuery) -> Result<Page<Item>, StoreError> {
        let rows = self
            .state()
            .items
            .values()
            .map(|v| &v.value)
            .filter(|i| query.matches(i))
            .cloned()
            .collect();
        Ok(items_page(rows, query.limit))
    }

    async fn items(&self, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| state.items.get(id).map(|v| v.value.clone()))
            .collect())
    }

    async fn items_of(
        &self,
        seller_id: &str,
        status: Option<ItemStatus>,
        page: &Listing,
    ) -> Result<Page<Item>, StoreError> {
        let state = self.state();
        let rows = state
            .items
            .values()
            .map(|v| &v.value)
            .filter(|i| i.seller_id == seller_id && status.is_none_or(|s| s == i.status));
        Ok(Self::listed(rows.cloned(), page))
    }

    async fn reservations_of(
        &self,
        user_id: &str,
        role: Role,
        status: Option<ReservationStatus>,
        page: &Listing,
    ) -> Result<Page<Reservation>, StoreError> {
        let state = self.state();
        let rows = state.reservations.values().map(|v| &v.value).filter(|r| {
            let party = match role {
                Role::Buyer => &r.buyer_id,
                Role::Seller => &r.seller_id,
            };
            party == user_id && status.is_none_or(|s| s == r.status)
        });
        Ok(Self::listed(rows.cloned(), page))
    }

    async fn auctions_of(
        &self,
        seller_id: &str,
        status: Option<AuctionStatus>,
        page: &Listing,
    ) -> Result<Page<Auction>, StoreError> {
        let state = self.state();
        let rows = state
            .auctions
            .values()
            .map(|v| &v.value)
            .filter(|a| a.seller_id == seller_id && status.is_none_or(|s| s == a.status));
        Ok(Self::listed(rows.cloned(), page))
    }

    async fn bidding_of(
        &self,
        bidder_id: &str,
        page: &Listing,
    ) -> Result<Page<Bidding>, StoreError> {
        let state = self.state();
        let mut by_auction: HashMap<&str, Bidding> = HashMap::new();
        for bid in state
            .bids
            .values()
            .flatten()
            .filter(|b| b.bidder_id == bidder_id)
        {
            let latest = Bidding::from(bid);
            by_auction
                .entry(bid.auction_id.as_str())
                .and_modify(|b| {
                    if latest.last_bid_at >= b.last_bid_at {
                        *b = latest.clone();
                    }
                })
                .or_insert_with(|| latest.clone());
        }
        Ok(Self::listed(by_auction.into_values(), page))
    }

    async fn ratings_of(&self, ratee_id: &str, page: &Listing) -> Result<Page<Rating>, StoreError> {
        let state = self.state();
        let rows = state.ratings.values().filter(|r| r.ratee_id == ratee_id);
        Ok(Self::listed(rows.cloned(), page))
    }

    async fn stale_listings(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .state()
            .items
            .values()
            .filter(|i| i.value.status == ItemStatus::Available && i.value.expires_at <= now)
            .map(|i| i.value.id.clone())
            .collect();
        ids.sort();
        ids.truncate(limit);
        Ok(ids)
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let mut state = self.state();
        if !change.writes.iter().all(|w| Self::check(&state, w)) {
            return Err(StoreError::ConditionFailed);
        }
        for write in change.writes {
            Self::apply(&mut state, write);
        }
        state.events.extend(change.events);
        Ok(())
    }
}

#[async_trait]
impl crate::notify::Directory for MemoryStore {
    async fn users_near(&self, cells: &[String]) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .state()
            .profiles
            .values()
            .filter(|p| p.home.as_ref().is_some_and(|h| cells.contains(&h.geohash)))
            .map(|p| p.id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn recipient(&self, user_id: &str) -> Result<crate::notify::Recipient, StoreError> {
        let profile = self
            .state()
            .profiles
            .get(user_id)
            .cloned()
            .unwrap_or_default();
        Ok(crate::notify::Recipient {
            user_id: user_id.to_owned(),
            email: profile.email,
            preferences: profile.notifications,
            devices: MemoryStore::devices(self, user_id),
        })
    }

    async fn forget_device(&self, user_id: &str, token_hash: &str) -> Result<(), StoreError> {
        self.state()
            .devices
            .remove(&(user_id.to_owned(), token_hash.to_owned()));
        Ok(())
    }
}
