//! The auction aggregate: a quick auction of an item, its bids, and its close. A bid is accepted only on an
//! OPEN auction before endsAt, from someone other than the seller, for at least the next acceptable amount;
//! late bids extend it (anti-sniping); at endsAt it closes once, the leader winning.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::error::{Conflict, DomainError, Unprocessable, Validator};
use crate::item::{expect_available, own_item, Item, ItemMode, ItemStatus};
use crate::schedule::Decision;

/// A bid this close to endsAt moves endsAt to this long after the bid...
pub const SNIPING_WINDOW: Duration = Duration::minutes(2);
/// ...at most this many times.
pub const MAX_EXTENSIONS: u32 = 10;
/// Bounds of an auction's length.
pub const MIN_AUCTION: Duration = Duration::minutes(5);
pub const MAX_AUCTION: Duration = Duration::days(7);
/// The largest price or increment (cents): 10 million, well inside every integer type on the way.
pub const MAX_CENTS: i64 = 1_000_000_000;

string_enum!(
    AuctionStatus {
        Open => "open",
        Closed => "closed",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Auction {
    pub id: String,
    pub item_id: String,
    pub seller_id: String,
    pub status: AuctionStatus,
    pub created_at: DateTime<Utc>,
    /// Moves on with late bids (anti-sniping).
    pub ends_at: DateTime<Utc>,
    /// Cents.
    pub starting_price: i64,
    /// Cents.
    pub min_increment: i64,
    /// Cents; none before the first bid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_bid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_id: Option<String>,
    pub bid_count: u32,
    /// How often a late bid moved endsAt (at most 10).
    pub extensions: u32,
    /// The least amount the next bid may offer: max(startingPrice, currentBid + minIncrement).
    pub min_next_bid: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    pub auction_id: String,
    pub bid_id: String,
    pub bidder_id: String,
    /// Cents.
    pub amount: i64,
    pub placed_at: DateTime<Utc>,
}

/// A user's part in an auction: their highest bid and when they last bid (one per bidder and auction, moved
/// by each of their bids; every accepted bid tops the last, so their latest is their highest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Bidding {
    pub auction_id: String,
    pub bidder_id: String,
    /// Cents.
    pub top_bid: i64,
    pub last_bid_at: DateTime<Utc>,
}

impl From<&Bid> for Bidding {
    fn from(bid: &Bid) -> Self {
        Bidding {
            auction_id: bid.auction_id.clone(),
            bidder_id: bid.bidder_id.clone(),
            top_bid: bid.amount,
            last_bid_at: bid.placed_at,
        }
    }
}

string_enum!(
    /// Where a bidder stands: while `open` leading or outbid, once `closed` won or lost.
    Standing {
        Leading => "leading",
        Outbid => "outbid",
        Won => "won",
        Lost => "lost",
    }
);

/// An auction a user bid on, as their list of bids shows it (`GET /users/me/bids`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BidStanding {
    pub auction: Auction,
    /// The user's highest bid, cents.
    pub my_top_bid: i64,
    pub my_last_bid_at: DateTime<Utc>,
    pub standing: Standing,
}

impl BidStanding {
    pub fn new(auction: Auction, bidding: &Bidding) -> Self {
        BidStanding {
            standing: auction.standing(&bidding.bidder_id),
            auction,
            my_top_bid: bidding.top_bid,
            my_last_bid_at: bidding.last_bid_at,
        }
    }
}

impl Auction {
    /// Where `bidder` stands in this auction (the leader of a closed auction won it).
    pub fn standing(&self, bidder: &str) -> Standing {
        let leads = self.leader_id.as_deref() == Some(bidder);
        match (self.status, leads) {
            (AuctionStatus::Open, true) => Standing::Leading,
            (AuctionStatus::Open, false) => Standing::Outbid,
            (AuctionStatus::Closed, true) => Standing::Won,
            (AuctionStatus::Closed, false) => Standing::Lost,
        }
    }
}

/// Put an item up for auction (`POST /auctions`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuction {
    pub item_id: String,
    /// Cents.
    pub starting_price: i64,
    /// Cents, at least 1.
    pub min_increment: i64,
    /// How long the auction runs (the deployment sets the shortest; at most 7 days).
    pub duration_seconds: i64,
}

/// The seller puts an auction item up for auction.
pub fn create_auction(
    item: &Item,
    caller: &str,
    input: &NewAuction,
    id: String,
    min_duration: Duration,
    now: DateTime<Utc>,
) -> Result<(Item, Auction), DomainError> {
    let mut v = Validator::default();
    v.check(
        (0..=MAX_CENTS).contains(&input.starting_price),
        "startingPrice",
        format!("must be 0 to {MAX_CENTS} cents"),
    )
    .check(
        (1..=MAX_CENTS).contains(&input.min_increment),
        "minIncrement",
        format!("must be 1 to {MAX_CENTS} cents"),
    )
    .check(
        (1..=MAX_AUCTION.num_seconds()).contains(&input.duration_seconds),
        "durationSeconds",
        format!("must be 1 to {} seconds", MAX_AUCTION.num_seconds()),
    );
    v.finish()?;
    own_item(item, caller)?;
    if item.mode != ItemMode::Auction {
        return Err(DomainError::unprocessable(
            Unprocessable::NotAuctionItem,
            "this item is listed for free, not for auction",
        ));
    }
    // The shortest auction is the deployment's setting, not the request's form: a rule, like the two above.
    if input.duration_seconds < min_duration.num_seconds() {
        return Err(DomainError::unprocessable(
            Unprocessable::AuctionTooShort,
            format!(
                "an auction here runs at least {} seconds",
                min_duration.num_seconds()
            ),
        ));
    }
    expect_available(item, now)?;
    let auction = Auction {
        id,
        item_id: item.id.clone(),
        seller_id: item.seller_id.clone(),
        status: AuctionStatus::Open,
        created_at: now,
        ends_at: now + Duration::seconds(input.duration_seconds),
        starting_price: input.starting_price,
        min_increment: input.min_increment,
        current_bid: None,
        leader_id: None,
        bid_count: 0,
        extensions: 0,
        min_next_bid: input.starting_price,
    };
    let mut next = item.clone();
    next.status = ItemStatus::InAuction;
    next.auction_id = Some(auction.id.clone());
    Ok((next, auction))
}

/// What an accepted bid changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedBid {
    pub auction: Auction,
    pub bid: Bid,
    /// The leader this bid displaced (notified).
    pub previous_leader: Option<String>,
    /// Whether the bid moved endsAt (anti-sniping).
    pub extended: bool,
}

/// A bid is accepted only if the auction is OPEN, now < endsAt, the bidder is not the seller, and amount ≥
/// max(startingPrice, currentBid + minIncrement). A bid within `sniping_window` of endsAt (DOMAIN.md: 2 minutes,
/// [`SNIPING_WINDOW`]) moves endsAt to that long after it, at most [`MAX_EXTENSIONS`] times.
pub fn place_bid(
    auction: &Auction,
    bidder_id: &str,
    amount: i64,
    bid_id: String,
    now: DateTime<Utc>,
    sniping_window: Duration,
) -> Result<PlacedBid, DomainError> {
    if !(1..=MAX_CENTS).contains(&amount) {
        return Err(DomainError::invalid(
            "amount",
            format!("must be 1 to {MAX_CENTS} cents"),
        ));
    }
    if auction.seller_id == bidder_id {
        return Err(DomainError::unprocessable(
            Unprocessable::OwnAuction,
            "you cannot bid on your own auction",
        ));
    }
    if auction.status != AuctionStatus::Open {
        return Err(DomainError::conflict(
            Conflict::AuctionClosed,
            "the auction is closed",
        ));
    }
    if now >= auction.ends_at {
        return Err(DomainError::conflict(
            Conflict::AuctionEnded,
            format!("the auction ended at {}", auction.ends_at.to_rfc3339()),
        ));
    }
    if amount < auction.min_next_bid {
        return Err(DomainError::conflict(
            Conflict::BidTooLow,
            format!(
                "the least acceptable bid is {} cents, {} offered",
                auction.min_next_bid, amount
            ),
        ));
    }
    let mut next = auction.clone();
    let previous_leader = next
        .leader_id
        .replace(bidder_id.to_owned())
        .filter(|leader| leader != bidder_id);
    next.current_bid = Some(amount);
    next.bid_count += 1;
    next.min_next_bid = (amount + auction.min_increment).max(auction.starting_price);
    let extended = auction.ends_at - now < sniping_window && auction.extensions < MAX_EXTENSIONS;
    if extended {
        next.ends_at = now + sniping_window;
        next.extensions += 1;
    }
    Ok(PlacedBid {
        bid: Bid {
            auction_id: auction.id.clone(),
            bid_id,
            bidder_id: bidder_id.to_owned(),
            amount,
            placed_at: now,
        },
        auction: next,
        previous_leader,
        extended,
    })
}

/// An auction's close: the auction CLOSED, the item SOLD to the leader (or UNSOLD without bids).
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub auction: Auction,
    pub item: Item,
    /// (winner, amount in cents), when anyone bid.
    pub winner: Option<(String, i64)>,
}

/// Closes an OPEN auction whose endsAt has passed; one whose endsAt moved (a late bid) is not due yet.
pub fn close_auction(auction: &Auction, item: &Item, now: DateTime<Utc>) -> Decision<Closing> {
    if auction.status == AuctionStatus::Closed {
        return Decision::Settled("the auction is already closed");
    }
    if now < auction.ends_at {
        return Decision::NotDue(auction.ends_at);
    }
    let mut next = auction.clone();
    if item.moderation.is_some() {
        // A listing taken down is sold to nobody: every bidder lost.
        next.leader_id = None;
    }
    let winner = next.leader_id.clone().zip(next.current_bid);
    next.status = AuctionStatus::Closed;
    let mut item = item.clone();
    item.status = if winner.is_some() {
        ItemStatus::Sold
    } else {
        ItemStatus::Unsold
    };
    Decision::Act(Closing {
        auction: next,
        item,
        winner,
    })
}

/// The auction of a listing a moderator takes down ends now (no bid is taken from then on); its close, due at
/// once, sells to nobody. `None` when it has ended already.
pub fn take_down(auction: &Auction, now: DateTime<Utc>) -> Option<Auction> {
    (auction.status == AuctionStatus::Open && now < auction.ends_at).then(|| {
        let mut next = auction.clone();
        next.ends_at = now;
        next
    })
}

/// The bidders who did not win, each once, in the order they first appear in `bidders`.
pub fn losers<'a>(bidders: impl IntoIterator<Item = &'a str>, winner: Option<&str>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    bidders
        .into_iter()
        .filter(|b| Some(*b) != winner && seen.insert(*b))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests;
