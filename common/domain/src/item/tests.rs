use std::collections::BTreeMap;

use super::photo::*;
use super::*;
use crate::error::{Conflict, DomainError, Unprocessable};
use crate::reservation::RESERVATION_TTL;
use crate::testing::{conflict, input, item, new_id, now, open_auction, reserve, reserved};

#[test]
fn a_new_item_is_available_with_a_geohash_and_a_30_day_listing() {
    let item = item(ItemMode::Free);
    assert_eq!(item.title, "Oak table");
    assert_eq!(item.status, ItemStatus::Available);
    assert_eq!(item.location.geohash, "u09tun");
    assert_eq!(item.expires_at - item.created_at, Duration::days(30));
}

#[test]
fn invalid_items_are_refused_field_by_field() {
    let mut bad = input(ItemMode::Free);
    bad.title = " ".into();
    bad.description = "x".repeat(2001);
    bad.location.lat = 91.0;
    let Err(DomainError::Invalid(fields)) = new_item(bad, "s", new_id(), now()) else {
        panic!("expected invalid");
    };
    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["title", "description", "location.lat"]);
    let mut long = input(ItemMode::Free);
    long.title = "é".repeat(120);
    assert!(
        new_item(long, "s", new_id(), now()).is_ok(),
        "120 characters, not bytes"
    );
}

#[test]
fn only_the_seller_deletes_and_only_an_available_item() {
    let item = item(ItemMode::Free);
    assert!(delete_item(&item, "seller").is_ok());
    assert!(matches!(
        delete_item(&item, "other"),
        Err(DomainError::Forbidden(_))
    ));
    let (reserved, _) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    assert_eq!(
        conflict(delete_item(&reserved, "seller").unwrap_err()),
        Conflict::ItemNotAvailable
    );
}

#[test]
fn photos_are_pending_and_bounded() {
    let mut item = item(ItemMode::Free);
    for i in 0..MAX_PHOTOS {
        item = add_photo(&item, "seller", &i.to_string(), format!("k{i}"), now()).unwrap();
    }
    assert_eq!(item.photos["0"].status, PhotoStatus::Pending);
    // Added at the same instant, they still keep their upload order (ids sort otherwise: "10" < "2").
    let order: Vec<u32> = (0..MAX_PHOTOS)
        .map(|i| item.photos[&i.to_string()].position)
        .collect();
    assert_eq!(order, (1..=MAX_PHOTOS as u32).collect::<Vec<_>>());
    assert!(matches!(
        add_photo(&item, "seller", "x", "k".into(), now()),
        Err(DomainError::Unprocessable(Unprocessable::TooManyPhotos, _))
    ));
    assert!(matches!(
        add_photo(&item, "other", "x", "k".into(), now()),
        Err(DomainError::Forbidden(_))
    ));
}

#[test]
fn only_available_listings_expire() {
    let free = item(ItemMode::Free);
    assert_eq!(
        expire_listing(&free, free.expires_at - Duration::seconds(1)),
        Decision::NotDue(free.expires_at)
    );
    let Decision::Act(next) = expire_listing(&free, free.expires_at) else {
        panic!("expected to expire")
    };
    assert_eq!(next.status, ItemStatus::Expired);
    let (_, reserved) = reserved();
    assert!(matches!(
        expire_listing(&reserved, reserved.expires_at),
        Decision::Settled(_)
    ));
    let (_, in_auction) = open_auction();
    assert!(matches!(
        expire_listing(&in_auction, in_auction.expires_at),
        Decision::Settled(_)
    ));
}

#[test]
fn upload_keys_name_user_item_and_photo() {
    assert_eq!(
        photo_ref("uploads/u1/i1/p1", "uploads/"),
        Some(PhotoRef {
            user_id: "u1".into(),
            item_id: "i1".into(),
            photo_id: "p1".into()
        })
    );
    for bad in [
        "thumbnails/u1/i1/p1",
        "uploads/u1/i1",
        "uploads/u1/i1/p1/x",
        "uploads/u1//p1",
    ] {
        assert_eq!(photo_ref(bad, "uploads/"), None, "{bad}");
    }
}

#[test]
fn a_pending_photo_settles_once() {
    // GIVEN an item with a pending photo
    let item = item(ItemMode::Free);
    let item = add_photo(&item, "seller", "p1", "uploads/seller/i/p1".into(), now()).unwrap();
    let ready = PhotoOutcome::Ready {
        thumbnails: BTreeMap::from([("128".into(), "t/128.jpg".into())]),
        labels: vec!["Table".into()],
    };
    // WHEN it is READY THEN its thumbnails and labels are on the item
    let Ok(Decision::Act(next)) = settle_photo(&item, "p1", &ready) else {
        panic!("expected to settle")
    };
    assert_eq!(next.photos["p1"].status, PhotoStatus::Ready);
    assert_eq!(next.photos["p1"].thumbnails["128"], "t/128.jpg");
    assert_eq!(next.photos["p1"].labels, vec!["Table"]);
    // AND a second outcome for it changes nothing
    let rejected = PhotoOutcome::Rejected {
        reason: "no".into(),
    };
    assert!(matches!(
        settle_photo(&next, "p1", &rejected),
        Ok(Decision::Settled(_))
    ));
    // A rejection carries its reason; an unknown photo is an error.
    let Ok(Decision::Act(rej)) = settle_photo(&item, "p1", &rejected) else {
        panic!("expected to settle")
    };
    assert_eq!(rej.photos["p1"].reason.as_deref(), Some("no"));
    assert!(settle_photo(&item, "p2", &ready).is_err());
}

#[test]
fn the_first_photo_to_be_ready_suggests_a_category_and_a_later_one_does_not() {
    let mut listed = item(ItemMode::Free);
    for id in ["p1", "p2"] {
        listed = add_photo(
            &listed,
            "seller",
            id,
            format!("uploads/seller/i/{id}"),
            now(),
        )
        .unwrap();
    }
    let ready = |labels: &[&str]| PhotoOutcome::Ready {
        thumbnails: BTreeMap::new(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    };
    let Ok(Decision::Act(first)) = settle_photo(&listed, "p1", &ready(&["Wood", "Chair"])) else {
        panic!("expected to settle")
    };
    assert_eq!(first.suggested_category, Some(Category::Furniture));
    let Ok(Decision::Act(second)) = settle_photo(&first, "p2", &ready(&["Bicycle"])) else {
        panic!("expected to settle")
    };
    assert_eq!(
        second.suggested_category,
        Some(Category::Furniture),
        "the first photo's"
    );
    let Ok(Decision::Act(unknown)) = settle_photo(&listed, "p1", &ready(&["Sky"])) else {
        panic!("expected to settle")
    };
    assert_eq!(unknown.suggested_category, None);
}

#[test]
fn the_seller_edits_a_listing_nobody_reserved_or_bid_on() {
    let listed = item(ItemMode::Free);
    let edit = ItemEdit {
        title: Some("  Solid oak table ".into()),
        category: Some(Category::Garden),
        ..ItemEdit::default()
    };
    let next = edit_item(&listed, "seller", &edit, 0)
        .unwrap()
        .expect("changed");
    assert_eq!(next.title, "Solid oak table");
    assert_eq!(next.category, Category::Garden);
    assert_eq!(next.description, listed.description);
    // The same edit again changes nothing: nothing to write.
    assert_eq!(edit_item(&next, "seller", &edit, 0).unwrap(), None);
    // Only the seller; only what validates; at least one field.
    assert!(matches!(
        edit_item(&listed, "buyer", &edit, 0),
        Err(DomainError::Forbidden(_))
    ));
    let bad = ItemEdit {
        title: Some(" ".into()),
        description: Some("x".repeat(2001)),
        ..ItemEdit::default()
    };
    let Err(DomainError::Invalid(fields)) = edit_item(&listed, "seller", &bad, 0) else {
        panic!("expected invalid");
    };
    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["title", "description"]);
    // An edit of nothing changes nothing: no write, no event.
    assert_eq!(
        edit_item(&listed, "seller", &ItemEdit::default(), 0).expect("valid"),
        None
    );
}

#[test]
fn a_reserved_or_bid_on_listing_stays_as_the_other_party_saw_it() {
    let edit = ItemEdit {
        title: Some("Another table".into()),
        ..ItemEdit::default()
    };
    let (_, taken) = reserved();
    assert_eq!(
        conflict(edit_item(&taken, "seller", &edit, 0).unwrap_err()),
        Conflict::ItemNotEditable
    );
    let (_, in_auction) = open_auction();
    assert!(edit_item(&in_auction, "seller", &edit, 0)
        .unwrap()
        .is_some());
    assert_eq!(
        conflict(edit_item(&in_auction, "seller", &edit, 1).unwrap_err()),
        Conflict::ItemNotEditable
    );
}

#[test]
fn a_listing_taken_down_is_hidden_closed_to_takers_and_edits_and_taken_down_once() {
    let listed = item(ItemMode::Free);
    assert!(listed.is_shown() && listed.is_public());
    let blank = take_down(&listed, " \t", now()).unwrap_err();
    assert!(matches!(blank, DomainError::Invalid(ref f) if f[0].field == "reason"));

    let down = take_down(&listed, "  a counterfeit ", now())
        .unwrap()
        .expect("taken down");
    let moderation = down.moderation.clone().expect("moderation");
    assert_eq!(moderation.action, ModerationAction::TakenDown);
    assert_eq!(moderation.reason, "a counterfeit");
    assert_eq!(down.status, ItemStatus::Available, "its status stays");
    assert!(!down.is_shown() && !down.is_public());
    assert_eq!(
        conflict(reserve(&down, "buyer", now(), RESERVATION_TTL).unwrap_err()),
        Conflict::ItemNotAvailable
    );
    let edit = ItemEdit {
        title: Some("Oak table, real".into()),
        ..ItemEdit::default()
    };
    assert_eq!(
        conflict(edit_item(&down, "seller", &edit, 0).unwrap_err()),
        Conflict::ItemNotEditable
    );
    assert_eq!(take_down(&down, "again", now()), Ok(None));

    // A reserved listing is hidden too; the reservation under way stays.
    let (reserved_item, _) = reserve(&listed, "buyer", now(), RESERVATION_TTL).unwrap();
    let hidden = take_down(&reserved_item, "spam", now()).unwrap().unwrap();
    assert_eq!(hidden.reservation_id, reserved_item.reservation_id);
    assert!(!hidden.is_public() && reserved_item.is_public());
}
