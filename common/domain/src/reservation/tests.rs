use chrono::Duration;

use super::*;
use crate::ids::reservation_item;
use crate::testing::{conflict, item, now, reserve, reserved};

#[test]
fn reserving_takes_an_available_free_item_of_someone_else() {
    let item = item(ItemMode::Free);
    let (next, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    assert_eq!(next.status, ItemStatus::Reserved);
    assert_eq!(next.reservation_id.as_deref(), Some(r.id.as_str()));
    assert_eq!(reservation_item(&r.id), Some(item.id.as_str()));
    assert_eq!(r.expires_at - r.created_at, Duration::hours(24));
    // Again: the item is not available any more.
    let e = reserve(&next, "other", now(), RESERVATION_TTL).unwrap_err();
    assert_eq!(conflict(e), Conflict::ItemNotAvailable);
    // Your own: refused.
    let e = reserve(&item, "seller", now(), RESERVATION_TTL).unwrap_err();
    assert!(matches!(
        e,
        DomainError::Unprocessable(Unprocessable::OwnItem, _)
    ));
    // An auction item or an expired listing: refused.
    assert!(reserve(&self::item(ItemMode::Auction), "b", now(), RESERVATION_TTL).is_err());
    let e = reserve(&item, "b", item.expires_at, RESERVATION_TTL).unwrap_err();
    assert_eq!(conflict(e), Conflict::ItemNotAvailable);
}

#[test]
fn a_reservation_moves_pending_confirmed_completed_by_its_parties_only() {
    let item = item(ItemMode::Free);
    let (reserved, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    // Only the seller confirms; strangers are forbidden.
    assert!(matches!(
        confirm(&r, "buyer", None, now()),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        confirm(&r, "stranger", None, now()),
        Err(DomainError::Forbidden(_))
    ));
    // Completing a PENDING reservation skips a step: refused.
    assert_eq!(
        conflict(complete(&r, &reserved, "buyer", now()).unwrap_err()),
        Conflict::ReservationState
    );
    let confirmed = confirm(&r, "seller", None, now()).unwrap();
    assert_eq!(confirmed.status, ReservationStatus::Confirmed);
    let (done, picked) = complete(&confirmed, &reserved, "buyer", now()).unwrap();
    assert_eq!(done.status, ReservationStatus::Completed);
    assert_eq!(picked.status, ItemStatus::PickedUp);
    // Completed is final.
    assert_eq!(
        conflict(cancel(&done, &picked, "buyer", now()).unwrap_err()),
        Conflict::ReservationState
    );
}

#[test]
fn cancelling_puts_the_item_back() {
    let item = item(ItemMode::Free);
    let (reserved, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    let (cancelled, back) = cancel(&r, &reserved, "seller", now()).unwrap();
    assert_eq!(cancelled.status, ReservationStatus::Cancelled);
    assert_eq!(back.status, ItemStatus::Available);
    assert_eq!(back.reservation_id, None);
}

#[test]
fn a_reservation_expires_at_its_time_and_frees_the_item() {
    // GIVEN a pending reservation
    let (r, item) = reserved();
    assert_eq!(item.status, ItemStatus::Reserved);
    // WHEN its schedule fires early THEN it is not due yet
    assert_eq!(
        expire_reservation(&r, &item, r.expires_at - Duration::seconds(1)),
        Decision::NotDue(r.expires_at)
    );
    // WHEN it fires at expiresAt THEN the reservation is EXPIRED and the item AVAILABLE again
    let Decision::Act((next, next_item)) = expire_reservation(&r, &item, r.expires_at) else {
        panic!("expected to expire")
    };
    assert_eq!(next.status, ReservationStatus::Expired);
    assert_eq!(next_item.status, ItemStatus::Available);
    assert_eq!(next_item.reservation_id, None);
    // AND a second delivery finds nothing to do
    assert!(matches!(
        expire_reservation(&next, &next_item, r.expires_at),
        Decision::Settled(_)
    ));
}

#[test]
fn a_completed_or_cancelled_reservation_does_not_expire() {
    let (r, item) = reserved();
    for status in [ReservationStatus::Completed, ReservationStatus::Cancelled] {
        let mut done = r.clone();
        done.status = status;
        assert!(matches!(
            expire_reservation(&done, &item, r.expires_at + Duration::hours(1)),
            Decision::Settled(_)
        ));
    }
    // A confirmed one still expires.
    let mut confirmed = r.clone();
    confirmed.status = ReservationStatus::Confirmed;
    assert!(matches!(
        expire_reservation(&confirmed, &item, r.expires_at),
        Decision::Act(_)
    ));
}

#[test]
fn an_item_reserved_again_is_not_freed_by_an_old_reservation() {
    // GIVEN an item whose active reservation is another one
    let (r, mut item) = reserved();
    item.reservation_id = Some("other".into());
    let Decision::Act((_, next_item)) = expire_reservation(&r, &item, r.expires_at) else {
        panic!("expected to expire")
    };
    assert_eq!(next_item.status, ItemStatus::Reserved);
}

#[test]
fn a_pickup_reminder_comes_an_hour_before_a_pickup_that_still_stands() {
    let item = item(ItemMode::Free);
    let (_, mut r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    let lead = PICKUP_REMINDER_LEAD;
    let pickup = now() + Duration::hours(5);
    // Not confirmed: nothing to arm, nothing to send.
    assert_eq!(pickup_reminder_at(&r, lead, now()), None);
    r.status = ReservationStatus::Confirmed;
    assert_eq!(pickup_reminder_at(&r, lead, now()), None, "no pickupAt");
    r.pickup_at = Some(pickup);
    assert_eq!(
        pickup_reminder_at(&r, lead, now()),
        Some(pickup - Duration::hours(1))
    );
    // Confirmed for the coming hour: the confirmation is the reminder.
    assert_eq!(
        pickup_reminder_at(&r, lead, pickup - Duration::minutes(30)),
        None
    );

    assert_eq!(
        remind_pickup(&r, lead, now()),
        Decision::NotDue(pickup - Duration::hours(1))
    );
    let due = pickup - Duration::minutes(59);
    assert_eq!(remind_pickup(&r, lead, due), Decision::Act(pickup));
    assert!(matches!(
        remind_pickup(&r, lead, pickup),
        Decision::Settled(_)
    ));
    for ended in [
        ReservationStatus::Cancelled,
        ReservationStatus::Expired,
        ReservationStatus::Completed,
    ] {
        let mut gone = r.clone();
        gone.status = ended;
        assert!(matches!(
            remind_pickup(&gone, lead, due),
            Decision::Settled(_)
        ));
    }
}
