//! The table's keys: partition and sort keys of each record, and the time- and amount-ordered sort keys.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

pub(super) type Attrs = HashMap<String, AttributeValue>;

pub(super) const METADATA: &str = "METADATA";
pub(super) const PROFILE: &str = "PROFILE";

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn key(pk: String, sk: impl Into<String>) -> Attrs {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// Sort key of time-ordered rows: zero-padded epoch milliseconds, then the id (orders as `Cursor` does).
pub(super) fn time_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{:013}#{id}", at.timestamp_millis())
}

/// Sort key of bids: zero-padded cents (amounts are at most `auction::MAX_CENTS`), then the id.
pub(super) fn amount_key(amount: i64, id: &str) -> String {
    format!("{amount:012}#{id}")
}

/// A user's own lists, each one partition of a user index (GSI3, and GSI4 for the one list a record is in
/// second): its entries sort `<status>#<time key>` where the list filters by status, else `<time key>`.
#[derive(Debug, Clone, Copy)]
pub(super) enum UserList<'a> {
    /// The items a user posts.
    Items(&'a str),
    /// The reservations a user made.
    Reserved(&'a str),
    /// The reservations made on a user's items (GSI4: the record is in GSI3 as its buyer's).
    ReservedFrom(&'a str),
    /// The auctions a user runs.
    Auctions(&'a str),
    /// A user's part in each auction they bid on.
    Bidding(&'a str),
    /// The ratings a user received.
    Ratings(&'a str),
}

impl UserList<'_> {
    pub(super) fn index(self) -> &'static str {
        match self {
            UserList::ReservedFrom(_) => "GSI4",
            _ => "GSI3",
        }
    }

    pub(super) fn partition(self) -> String {
        match self {
            UserList::Items(u) => format!("SELLER#{u}"),
            UserList::Reserved(u) => format!("BUYER#{u}"),
            UserList::ReservedFrom(u) => format!("SELLER#{u}"),
            UserList::Auctions(u) => format!("AUCTIONS#{u}"),
            UserList::Bidding(u) => format!("BIDDER#{u}"),
            UserList::Ratings(u) => format!("RATED#{u}"),
        }
    }
}

/// The sort key of a user-list entry: its status (where the list filters by one), then its time key.
pub(super) fn listed_key(status: Option<&str>, at: DateTime<Utc>, id: &str) -> String {
    match status {
        Some(status) => format!("{status}#{}", time_key(at, id)),
        None => time_key(at, id),
    }
}

pub(super) fn bidding_key(bidder_id: &str, auction_id: &str) -> Attrs {
    key(format!("USER#{bidder_id}"), format!("BIDON#{auction_id}"))
}

pub(super) fn item_key(id: &str) -> Attrs {
    key(format!("ITEM#{id}"), METADATA)
}

pub(super) fn reservation_key(item_id: &str, id: &str) -> Attrs {
    key(format!("ITEM#{item_id}"), format!("RESERVATION#{id}"))
}

pub(super) fn auction_key(id: &str) -> Attrs {
    key(format!("AUCTION#{id}"), METADATA)
}

pub(super) fn profile_key(user_id: &str) -> Attrs {
    key(format!("USER#{user_id}"), PROFILE)
}

pub(super) fn bid_key(auction_id: &str, amount: i64, bid_id: &str) -> Attrs {
    key(
        format!("AUCTION#{auction_id}"),
        format!("BID#{}", amount_key(amount, bid_id)),
    )
}

pub(super) fn rating_key(ratee_id: &str, rater_id: &str, about: &str) -> Attrs {
    key(
        format!("RATING#{ratee_id}"),
        format!("FROM#{rater_id}#{about}"),
    )
}

pub(super) fn device_key(user_id: &str, token_hash: &str) -> Attrs {
    key(format!("USER#{user_id}"), format!("DEVICE#{token_hash}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sort_keys_order_as_their_values() {
        let at = Utc
            .timestamp_millis_opt(1_795_000_000_123)
            .single()
            .expect("time");
        assert_eq!(time_key(at, "i"), "1795000000123#i");
        assert!(amount_key(999, "b") < amount_key(1000, "a"));
        assert_eq!(bid_key("a1", 1250, "b1")["SK"], s("BID#000000001250#b1"));
        assert_eq!(listed_key(Some("open"), at, "a"), "open#1795000000123#a");
        assert_eq!(listed_key(None, at, "a"), "1795000000123#a");
        assert_eq!(UserList::ReservedFrom("u").index(), "GSI4");
        assert_eq!(UserList::Reserved("u").partition(), "BUYER#u");
    }
}
