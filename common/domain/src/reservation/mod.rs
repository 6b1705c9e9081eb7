//! The reservation aggregate: a buyer's hold on a free item until pickup. PENDING → CONFIRMED (the seller
//! confirms a pickup time) → COMPLETED; PENDING | CONFIRMED → CANCELLED (either party) or EXPIRED (not completed
//! by expiresAt). One active reservation per item.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::error::{Conflict, DomainError, Unprocessable};
use crate::item::{expect_available, Item, ItemMode, ItemStatus};
use crate::schedule::Decision;

/// A reservation expires 24 h after it was made if not completed.
pub const RESERVATION_TTL: Duration = Duration::hours(24);

string_enum!(
    /// `pending` → `confirmed` → `completed`; `pending` | `confirmed` → `cancelled` | `expired`.
    ReservationStatus {
        Pending => "pending",
        Confirmed => "confirmed",
        Completed => "completed",
        Cancelled => "cancelled",
        Expired => "expired",
    }
);

string_enum!(
    /// Which side of a reservation a user is on: they made it (buyer) or it was made on their item (seller).
    Role {
        Buyer => "buyer",
        Seller => "seller",
    }
);

impl ReservationStatus {
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ReservationStatus::Pending | ReservationStatus::Confirmed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// Opaque; carries the item it belongs to.
    pub id: String,
    pub item_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub status: ReservationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A buyer reserves a free item: the item is RESERVED and the reservation `id` (see
/// [`crate::ids::reservation_id`]) PENDING until `now + ttl`.
pub fn reserve(
    item: &Item,
    buyer_id: &str,
    id: String,
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
        id,
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

/// A reservation still PENDING or CONFIRMED at its expiresAt expires; its item is AVAILABLE again.
pub fn expire_reservation(
    r: &Reservation,
    item: &Item,
    now: DateTime<Utc>,
) -> Decision<(Reservation, Item)> {
    if !r.status.is_active() {
        return Decision::Settled("the reservation is no longer active");
    }
    if now < r.expires_at {
        return Decision::NotDue(r.expires_at);
    }
    let mut next = r.clone();
    next.status = ReservationStatus::Expired;
    next.updated_at = Some(now);
    let mut item = item.clone();
    if item.reservation_id.as_deref() == Some(r.id.as_str()) {
        item.status = ItemStatus::Available;
        item.reservation_id = None;
    }
    Decision::Act((next, item))
}

/// How long before a confirmed pickup both parties are reminded.
pub const PICKUP_REMINDER_LEAD: Duration = Duration::hours(1);

/// When the pickup reminder of `r` comes due: `lead` before its confirmed pickupAt, unless that moment has
/// already passed when it is armed (a pickup confirmed for the next hour needs no reminder beyond the
/// confirmation).
pub fn pickup_reminder_at(
    r: &Reservation,
    lead: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = r.pickup_at? - lead;
    (r.status == ReservationStatus::Confirmed && at > now).then_some(at)
}

/// The pickup reminder of `r`, due at `lead` before its pickupAt: only while the reservation still stands
/// and the pickup is ahead (a cancelled, expired or completed reservation, or a pickup already past, gets
/// none); a pickupAt moved later comes back at its new time.
pub fn remind_pickup(
    r: &Reservation,
    lead: Duration,
    now: DateTime<Utc>,
) -> Decision<DateTime<Utc>> {
    if r.status != ReservationStatus::Confirmed {
        return Decision::Settled("the reservation no longer stands");
    }
    let Some(pickup_at) = r.pickup_at else {
        return Decision::Settled("no pickup time was confirmed");
    };
    if now >= pickup_at {
        return Decision::Settled("the pickup time has passed");
    }
    if now < pickup_at - lead {
        return Decision::NotDue(pickup_at - lead);
    }
    Decision::Act(pickup_at)
}

#[cfg(test)]
mod tests;
