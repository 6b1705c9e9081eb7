//! The rules of DOMAIN.md as pure decisions: each takes the current state, the caller and the time, and answers
//! with the new state or the reason it is refused. The use-cases (`service`) store the answer with a write
//! conditional on the state it was decided from, so a decision never acts on a state that has since changed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::error::{Conflict, DomainError, Unprocessable, Validator};
use crate::geo;
use crate::model::*;

/// A listing expires 30 days after it was posted if nobody took it.
pub const LISTING_TTL: Duration = Duration::days(30);
/// A reservation expires 24 h after it was made if not completed.
pub const RESERVATION_TTL: Duration = Duration::hours(24);
/// A bid this close to endsAt moves endsAt to this long after the bid...
pub const SNIPING_WINDOW: Duration = Duration::minutes(2);
/// ...at most this many times.
pub const MAX_EXTENSIONS: u32 = 10;
/// Photos per item.
pub const MAX_PHOTOS: usize = 10;
/// Bounds of an auction's length.
pub const MIN_AUCTION: Duration = Duration::minutes(5);
pub const MAX_AUCTION: Duration = Duration::days(7);
/// The largest price or increment (cents): 10 million, well inside every integer type on the way.
pub const MAX_CENTS: i64 = 1_000_000_000;

// ---- inputs ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Point {
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    Free,
    Auction,
}

/// `POST /items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewItem {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 120))]
    pub title: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    pub category: Category,
    pub location: Point,
    pub mode: Mode,
}

/// `POST /auctions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAuction {
    pub item_id: String,
    /// Cents.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1_000_000_000))]
    pub starting_price: i64,
    /// Cents, at least 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000))]
    pub min_increment: i64,
    /// How long the auction runs (the deployment sets the shortest; at most 7 days).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 604_800))]
    pub duration_seconds: i64,
}

/// `PUT /users/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileUpdate {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 60))]
    pub display_name: Option<String>,
    pub home: Option<Point>,
}

/// `POST /users/{id}/ratings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRating {
    /// The reservation or auction id of the deal.
    pub about: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub stars: u8,
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub comment: Option<String>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

// ---- ids ---------------------------------------------------------------------------------------------------

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// Whether `id` looks like one of our ids (items, auctions, users' subs are UUIDs).
pub fn is_id(id: &str) -> bool {
    Uuid::parse_str(id).is_ok()
}

/// A reservation's id carries its item's (the reservation lives under the item in the table).
pub fn reservation_id(item_id: &str) -> String {
    format!("{item_id}_{}", Uuid::new_v4())
}

/// The item a reservation id belongs to, if it is one.
pub fn reservation_item(reservation_id: &str) -> Option<&str> {
    let (item, own) = reservation_id.split_once('_')?;
    (is_id(item) && is_id(own)).then_some(item)
}

// ---- items -------------------------------------------------------------------------------------------------

pub fn new_item(
    input: NewItem,
    seller_id: &str,
    id: String,
    now: DateTime<Utc>,
) -> Result<Item, DomainError> {
    let mut v = Validator::default();
    let title = input.title.trim().to_owned();
    v.check(
        (1..=120).contains(&chars(&title)),
        "title",
        "must be 1 to 120 characters",
    )
    .check(
        chars(&input.description) <= 2000,
        "description",
        "must be at most 2000 characters",
    )
    .check(
        (-90.0..=90.0).contains(&input.location.lat),
        "location.lat",
        "must be between -90 and 90",
    )
    .check(
        (-180.0..=180.0).contains(&input.location.lon),
        "location.lon",
        "must be between -180 and 180",
    );
    v.finish()?;
    let Point { lat, lon } = input.location;
    Ok(Item {
        id,
        seller_id: seller_id.to_owned(),
        title,
        description: input.description,
        category: input.category,
        location: Location {
            lat,
            lon,
            geohash: geo::encode(lat, lon, geo::ITEM_PRECISION),
        },
        mode: match input.mode {
            Mode::Free => ItemMode::Free,
            Mode::Auction => ItemMode::Auction,
        },
        status: ItemStatus::Available,
        photos: Default::default(),
        created_at: now,
        expires_at: now + LISTING_TTL,
        reservation_id: None,
        auction_id: None,
    })
}

fn own_item(item: &Item, caller: &str) -> Result<(), DomainError> {
    if item.seller_id == caller {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only the item's seller may do this".into(),
        ))
    }
}

/// The seller withdraws a listing nobody has taken.
pub fn delete_item(item: &Item, caller: &str) -> Result<(), DomainError> {
    own_item(item, caller)?;
    if item.status != ItemStatus::Available {
        return Err(DomainError::conflict(
            Conflict::ItemNotAvailable,
            format!(
                "the item is {}: only an AVAILABLE item can be deleted",
                item.status
            ),
        ));
    }
    Ok(())
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
        },
    );
    Ok(next)
}

fn expect_available(item: &Item, now: DateTime<Utc>) -> Result<(), DomainError> {
    if item.status != ItemStatus::Available || now >= item.expires_at {
        let status = if item.status == ItemStatus::Available {
            ItemStatus::Expired
        } else {
            item.status
        };
        return Err(DomainError::conflict(
            Conflict::ItemNotAvailable,
            format!("the item is {status}, not AVAILABLE"),
        ));
    }
    Ok(())
}

// ---- reservations ------------------------------------------------------------------------------------------

/// A buyer reserves a free item: the item is RESERVED and the reservation PENDING until `now + ttl`.
pub fn reserve(
    item: &Item,
    buyer_id: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<(Item, Reservation), DomainError> {
    if item.mode != ItemMode::Free {
        return Err(DomainError::unprocessable(
            Unprocessable::NotFreeItem,
            "this item is sold by auction: bid on its auction instead",
        ));
    }
    if item.seller_id == buyer_id {
        return Err(DomainError::unprocessable(
            Unprocessable::OwnItem,
            "you cannot reserve your own item",
        ));
    }
    expect_available(item, now)?;
    let reservation = Reservation {
        id: reservation_id(&item.id),
        item_id: item.id.clone(),
        buyer_id: buyer_id.to_owned(),
        seller_id: item.seller_id.clone(),
        status: ReservationStatus::Pending,
        created_at: now,
        expires_at: now + ttl,
        pickup_at: None,
        updated_at: None,
    };
    let mut next = item.clone();
    next.status = ItemStatus::Reserved;
    next.reservation_id = Some(reservation.id.clone());
    Ok((next, reservation))
}

fn party(r: &Reservation, caller: &str) -> Result<(), DomainError> {
    if r.buyer_id == caller || r.seller_id == caller {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only the buyer or the seller of this reservation may do this".into(),
        ))
    }
}

/// Who may see a reservation: its two parties.
pub fn view_reservation(r: &Reservation, caller: &str) -> Result<(), DomainError> {
    party(r, caller)
}

fn transition(
    r: &Reservation,
    from: &[ReservationStatus],
    to: ReservationStatus,
    now: DateTime<Utc>,
) -> Result<Reservation, DomainError> {
    if !from.contains(&r.status) {
        return Err(DomainError::conflict(
            Conflict::ReservationState,
            format!("the reservation is {}: it cannot become {to}", r.status),
        ));
    }
    let mut next = r.clone();
    next.status = to;
    next.updated_at = Some(now);
    Ok(next)
}

/// The seller confirms a pickup time.
pub fn confirm(
    r: &Reservation,
    caller: &str,
    pickup_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Reservation, DomainError> {
    party(r, caller)?;
    if r.seller_id != caller {
        return Err(DomainError::Forbidden(
            "only the seller confirms a reservation".into(),
        ));
    }
    let mut next = transition(
        r,
        &[ReservationStatus::Pending],
        ReservationStatus::Confirmed,
        now,
    )?;
    next.pickup_at = pickup_at;
    Ok(next)
}

/// Either party records the pickup: the item is PICKED_UP.
pub fn complete(
    r: &Reservation,
    item: &Item,
    caller: &str,
    now: DateTime<Utc>,
) -> Result<(Reservation, Item), DomainError> {
    party(r, caller)?;
    let next = transition(
        r,
        &[ReservationStatus::Confirmed],
        ReservationStatus::Completed,
        now,
    )?;
    let mut item = item.clone();
    item.status = ItemStatus::PickedUp;
    Ok((next, item))
}

/// Either party cancels an active reservation: the item is AVAILABLE again.
pub fn cancel(
    r: &Reservation,
    item: &Item,
    caller: &str,
    now: DateTime<Utc>,
) -> Result<(Reservation, Item), DomainError> {
    party(r, caller)?;
    let next = transition(
        r,
        &[ReservationStatus::Pending, ReservationStatus::Confirmed],
        ReservationStatus::Cancelled,
        now,
    )?;
    let mut item = item.clone();
    if item.reservation_id.as_deref() == Some(r.id.as_str()) {
        item.status = ItemStatus::Available;
        item.reservation_id = None;
    }
    Ok((next, item))
}

// ---- auctions ----------------------------------------------------------------------------------------------

/// The seller puts an auction item up for auction.
pub fn create_auction(
    item: &Item,
    caller: &str,
    input: &NewAuction,
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
        (min_duration.num_seconds()..=MAX_AUCTION.num_seconds()).contains(&input.duration_seconds),
        "durationSeconds",
        format!(
            "must be {} to {} seconds",
            min_duration.num_seconds(),
            MAX_AUCTION.num_seconds()
        ),
    );
    v.finish()?;
    own_item(item, caller)?;
    if item.mode != ItemMode::Auction {
        return Err(DomainError::unprocessable(
            Unprocessable::NotAuctionItem,
            "this item is listed for free, not for auction",
        ));
    }
    expect_available(item, now)?;
    let auction = Auction {
        id: new_id(),
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
/// max(startingPrice, currentBid + minIncrement). A bid in the last 2 minutes ([`SNIPING_WINDOW`]) moves
/// endsAt to 2 minutes after it, at most 10 times.
pub fn place_bid(
    auction: &Auction,
    bidder_id: &str,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<PlacedBid, DomainError> {
    place_bid_within(auction, bidder_id, amount, now, SNIPING_WINDOW)
}

/// [`place_bid`] with another anti-sniping window (the local stack's tests use a shorter one).
pub fn place_bid_within(
    auction: &Auction,
    bidder_id: &str,
    amount: i64,
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
            bid_id: new_id(),
            bidder_id: bidder_id.to_owned(),
            amount,
            placed_at: now,
        },
        auction: next,
        previous_leader,
        extended,
    })
}

// ---- users and ratings -------------------------------------------------------------------------------------

/// Validates `PUT /users/me`: the fields to set.
pub fn profile_update(
    input: &ProfileUpdate,
) -> Result<(Option<String>, Option<HomeLocation>), DomainError> {
    let mut v = Validator::default();
    let name = input.display_name.as_ref().map(|n| n.trim().to_owned());
    if let Some(name) = &name {
        v.check(
            (1..=60).contains(&chars(name)),
            "displayName",
            "must be 1 to 60 characters",
        );
    }
    if let Some(home) = &input.home {
        v.check(
            geo::valid(home.lat, home.lon),
            "home",
            "lat must be between -90 and 90, lon between -180 and 180",
        );
    }
    v.check(
        name.is_some() || input.home.is_some(),
        "",
        "give displayName, home or both",
    );
    v.finish()?;
    Ok((
        name,
        input.home.as_ref().map(|h| HomeLocation {
            lat: h.lat,
            lon: h.lon,
            geohash: geo::encode(h.lat, h.lon, geo::HOME_PRECISION),
        }),
    ))
}

/// A finished deal as ratings see it: who took part and whether it completed.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub about: String,
    pub seller_id: String,
    /// The buyer or the auction's winner, if any.
    pub buyer_id: Option<String>,
    pub completed: bool,
}

impl From<&Reservation> for Deal {
    fn from(r: &Reservation) -> Self {
        Deal {
            about: r.id.clone(),
            seller_id: r.seller_id.clone(),
            buyer_id: Some(r.buyer_id.clone()),
            completed: r.status == ReservationStatus::Completed,
        }
    }
}

impl From<&Auction> for Deal {
    fn from(a: &Auction) -> Self {
        Deal {
            about: a.id.clone(),
            seller_id: a.seller_id.clone(),
            buyer_id: a.leader_id.clone(),
            completed: a.status == AuctionStatus::Closed && a.leader_id.is_some(),
        }
    }
}

/// One party of a completed deal rates the other (once: the store refuses a second rating).
pub fn rate(
    deal: &Deal,
    rater_id: &str,
    ratee_id: &str,
    input: &NewRating,
    now: DateTime<Utc>,
) -> Result<Rating, DomainError> {
    let mut v = Validator::default();
    v.check((1..=5).contains(&input.stars), "stars", "must be 1 to 5")
        .check(
            input.comment.as_deref().map_or(0, chars) <= 500,
            "comment",
            "must be at most 500 characters",
        );
    v.finish()?;
    if rater_id == ratee_id {
        return Err(DomainError::unprocessable(
            Unprocessable::RateSelf,
            "you cannot rate yourself",
        ));
    }
    let buyer = deal.buyer_id.as_deref();
    let parties = [Some(deal.seller_id.as_str()), buyer];
    if !parties.contains(&Some(rater_id)) {
        return Err(DomainError::Forbidden(
            "only a party of the deal may rate it".into(),
        ));
    }
    if !parties.contains(&Some(ratee_id)) {
        return Err(DomainError::Forbidden(
            "the rated user is not the other party of this deal".into(),
        ));
    }
    if !deal.completed {
        return Err(DomainError::conflict(
            Conflict::DealNotCompleted,
            "a deal can be rated once it completed",
        ));
    }
    Ok(Rating {
        rater_id: rater_id.to_owned(),
        ratee_id: ratee_id.to_owned(),
        about: deal.about.clone(),
        stars: input.stars,
        comment: input.comment.clone().filter(|c| !c.trim().is_empty()),
        created_at: now,
    })
}

#[cfg(test)]
mod tests;
