//! Ids, injected: the use-cases take new ids from an [`Ids`] (random in production, counted in tests), so every
//! decision is a pure function of its inputs; and the shapes ids have.

use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

/// Where new ids come from (entities and events alike).
pub trait Ids: Send + Sync {
    fn next(&self) -> Uuid;

    /// A new entity id (a UUID's text).
    fn new_id(&self) -> String {
        self.next().to_string()
    }
}

/// Random ids (v4): what every deployment uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn next(&self) -> Uuid {
        Uuid::new_v4()
    }
}

/// Ids counted from 1 (`00000000-0000-0000-0000-000000000001`, …): tests that want to know them.
#[derive(Debug, Default)]
pub struct CountedIds(AtomicU64);

impl Ids for CountedIds {
    fn next(&self) -> Uuid {
        Uuid::from_u128(u128::from(self.0.fetch_add(1, Ordering::Relaxed) + 1))
    }
}

/// Whether `id` is one of ours (items, auctions, users' subs are UUIDs): hyphenated and lowercase, as we
/// write them, none of a UUID's other forms.
pub fn is_id(id: &str) -> bool {
    id.len() == 36
        && id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'))
        && Uuid::parse_str(id).is_ok()
}

/// A reservation's id carries its item's (the reservation lives under the item in the table): `<item>_<own>`.
pub fn reservation_id(item_id: &str, own: &str) -> String {
    format!("{item_id}_{own}")
}

/// The item a reservation id belongs to, if it is one.
pub fn reservation_item(reservation_id: &str) -> Option<&str> {
    let (item, own) = reservation_id.split_once('_')?;
    (is_id(item) && is_id(own)).then_some(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_ids_are_known_in_advance() {
        let ids = CountedIds::default();
        assert_eq!(ids.new_id(), "00000000-0000-0000-0000-000000000001");
        assert_eq!(ids.next(), Uuid::from_u128(2));
        assert!(is_id(&RandomIds.new_id()));
    }

    #[test]
    fn reservation_ids_carry_their_item_and_nothing_else_parses() {
        let item = RandomIds.new_id();
        assert_eq!(
            reservation_item(&reservation_id(&item, &RandomIds.new_id())),
            Some(item.as_str())
        );
        for bad in ["", "_", "x_y", &format!("{item}_x"), &item] {
            assert_eq!(reservation_item(bad), None, "{bad}");
        }
    }
}
