use chrono::TimeZone;
use serde_json::json;

use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0)
        .single()
        .expect("valid time")
}

fn reservation() -> ReservationRef {
    ReservationRef {
        reservation_id: "r1".into(),
        item_id: "i1".into(),
        buyer_id: "u2".into(),
        seller_id: "u1".into(),
    }
}

/// One sample payload of every event type.
fn samples() -> Vec<DomainEvent> {
    vec![
        ItemCreated {
            item_id: "i1".into(),
            seller_id: "u1".into(),
            title: "Oak chair".into(),
            category: "furniture".into(),
            mode: ItemMode::Free,
            location: Location {
                lat: 52.52,
                lon: 13.405,
                geohash: "u33dc0".into(),
            },
            expires_at: at(12, 0),
        }
        .into(),
        ItemExpired {
            item_id: "i1".into(),
            seller_id: "u1".into(),
        }
        .into(),
        ItemUpdated {
            item_id: "i1".into(),
            seller_id: "u1".into(),
            title: "Oak chair, as new".into(),
            description: String::new(),
            category: "furniture".into(),
            changed: vec!["title".into()],
        }
        .into(),
        ItemDeleted {
            item_id: "i1".into(),
            seller_id: "u1".into(),
        }
        .into(),
        ItemTakenDown {
            item_id: "i1".into(),
            seller_id: "u1".into(),
            moderator_id: "m1".into(),
            reason: "a weapon".into(),
            auction_id: Some("a1".into()),
        }
        .into(),
        ItemFlagged {
            item_id: "i1".into(),
            seller_id: "u1".into(),
            reason: "the title reads as insult".into(),
        }
        .into(),
        ReservationCreated {
            reservation: reservation(),
            expires_at: at(12, 0),
        }
        .into(),
        ReservationConfirmed {
            reservation: reservation(),
            pickup_at: Some(at(15, 30)),
        }
        .into(),
        PickupReminder {
            reservation: reservation(),
            pickup_at: at(15, 30),
        }
        .into(),
        ReservationCompleted {
            reservation: reservation(),
        }
        .into(),
        ReservationCancelled {
            reservation: reservation(),
            cancelled_by: "u2".into(),
        }
        .into(),
        ReservationExpired {
            reservation: reservation(),
        }
        .into(),
        AuctionCreated {
            auction_id: "a1".into(),
            item_id: "i2".into(),
            seller_id: "u1".into(),
            ends_at: at(11, 0),
            starting_price: 500,
            min_increment: 50,
        }
        .into(),
        BidPlaced {
            auction_id: "a1".into(),
            bid_id: "b1".into(),
            bidder_id: "u3".into(),
            amount: 550,
            bid_count: 2,
            ends_at: at(11, 0),
            previous_leader_id: Some("u2".into()),
        }
        .into(),
        AuctionExtended {
            auction_id: "a1".into(),
            ends_at: at(11, 2),
            extensions: 1,
        }
        .into(),
        AuctionEnded {
            auction_id: "a1".into(),
            item_id: "i2".into(),
            seller_id: "u1".into(),
            winner_id: Some("u3".into()),
            amount: Some(550),
            bid_count: 2,
            loser_ids: vec!["u2".into()],
        }
        .into(),
        UserRated {
            rater_id: "u2".into(),
            ratee_id: "u1".into(),
            about: "r1".into(),
            stars: 5,
        }
        .into(),
        UserDeleted {
            user_id: "u1".into(),
            listings_withdrawn: 2,
        }
        .into(),
        UserSuspended {
            user_id: "u1".into(),
            moderator_id: "m1".into(),
            reason: "fraudulent listings".into(),
        }
        .into(),
        UserReinstated {
            user_id: "u1".into(),
            moderator_id: "m1".into(),
        }
        .into(),
        ImageUploaded {
            bucket: "ecobid-dev-uploads".into(),
            key: "uploads/u1/i1/p1.jpg".into(),
            size: 2_900_000,
        }
        .into(),
        ImageProcessed {
            item_id: "i1".into(),
            photo_key: "uploads/u1/i1/p1.jpg".into(),
            thumbnails: Thumbnails {
                small: "t/128.jpg".into(),
                medium: "t/512.jpg".into(),
                large: "t/1024.jpg".into(),
            },
            labels: vec!["Chair".into()],
        }
        .into(),
        ImageRejected {
            item_id: "i1".into(),
            seller_id: "u1".into(),
            photo_key: "uploads/u1/i1/p1.jpg".into(),
            reason: "not an image".into(),
        }
        .into(),
        NotificationSent {
            about_event_id: "e1".into(),
            recipient_id: "u1".into(),
            channel: "push".into(),
        }
        .into(),
        ErrorOccurred {
            queue: "ecobid-dev-images".into(),
            message_id: "m1".into(),
            error_kind: "invalid_message".into(),
            error_message: "not JSON".into(),
            event_id: None,
        }
        .into(),
    ]
}

fn envelope(event: DomainEvent) -> Envelope {
    Envelope {
        id: "0b9f5c3e-6a55-4b8e-9d6e-2f1a0c7d9e11"
            .parse()
            .expect("uuid"),
        correlation_id: "7d3c2b1a-0f9e-4d8c-8b7a-6e5d4c3b2a19"
            .parse()
            .expect("uuid"),
        time: at(10, 0),
        event,
    }
}

fn sample_json() -> Value {
    envelope(
        ReservationCreated {
            reservation: reservation(),
            expires_at: at(12, 0),
        }
        .into(),
    )
    .to_json()
}

/// `sample_json()` with `change` applied, as text.
fn doctored(change: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut v = sample_json();
    change(v.as_object_mut().expect("object"));
    v.to_string()
}

#[test]
fn json_shape_is_pinned() {
    let e = envelope(
        ReservationCreated {
            reservation: reservation(),
            expires_at: at(12, 0),
        }
        .into(),
    );
    assert_eq!(
        e.to_json(),
        json!({
            "version": "1",
            "id": "0b9f5c3e-6a55-4b8e-9d6e-2f1a0c7d9e11",
            "correlationId": "7d3c2b1a-0f9e-4d8c-8b7a-6e5d4c3b2a19",
            "source": "ecobid.reservations",
            "type": "ReservationCreated",
            "time": "2026-11-21T10:00:00.000Z",
            "data": {
                "reservationId": "r1", "itemId": "i1", "buyerId": "u2", "sellerId": "u1",
                "expiresAt": "2026-11-21T12:00:00Z"
            }
        })
    );
}

#[test]
fn every_event_type_has_a_sample_and_round_trips() {
    let samples = samples();
    let covered: Vec<EventType> = samples.iter().map(DomainEvent::event_type).collect();
    assert_eq!(
        covered,
        EventType::ALL,
        "one sample per event type, in catalog order"
    );
    for event in samples {
        let original = envelope(event);
        let text = original.to_json_string();
        let parsed =
            Envelope::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", original.event_type()));
        assert_eq!(parsed, original);
        // serde goes through the same code
        let via_serde: Envelope =
            serde_json::from_str(&serde_json::to_string(&original).expect("ser")).expect("de");
        assert_eq!(via_serde, original);
    }
}

#[test]
fn the_catalog_is_domain_md_with_item_updated_item_deleted_and_pickup_reminder() {
    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        names,
        [
            "ItemCreated",
            "ItemExpired",
            // Not in DOMAIN.md's list: the seller editing (PATCH /items/{id}) or withdrawing (DELETE
            // /items/{id}) a listing is a write too.
            "ItemUpdated",
            "ItemDeleted",
            // Not in DOMAIN.md's list: moderation (a moderator's takedown, suspension, reinstatement; the
            // text screening's flag).
            "ItemTakenDown",
            "ItemFlagged",
            "ReservationCreated",
            "ReservationConfirmed",
            "PickupReminder",
            "ReservationCompleted",
            "ReservationCancelled",
            "ReservationExpired",
            "AuctionCreated",
            "BidPlaced",
            "AuctionExtended",
            "AuctionEnded",
            "UserRated",
            // Not in DOMAIN.md's list: an account deleted by its user (DELETE /users/me).
            "UserDeleted",
            "UserSuspended",
            "UserReinstated",
            "ImageUploaded",
            "ImageProcessed",
            "ImageRejected",
            "NotificationSent",
            "ErrorOccurred",
        ]
    );
    assert_eq!(EventType::BidPlaced.source().as_str(), "ecobid.auctions");
    assert_eq!(EventType::ErrorOccurred.source().as_str(), "ecobid.system");
    assert_eq!("UserRated".parse::<EventType>(), Ok(EventType::UserRated));
}

#[test]
fn new_envelopes_get_fresh_ids_and_keep_the_correlation_id() {
    let correlation = CorrelationId::random();
    let a = Envelope::new(
        ItemExpired {
            item_id: "i".into(),
            seller_id: "u".into(),
        }
        .into(),
        correlation,
        at(9, 0),
    );
    let b = Envelope::new(
        ItemExpired {
            item_id: "i".into(),
            seller_id: "u".into(),
        }
        .into(),
        correlation,
        at(9, 0),
    );
    assert_ne!(a.id, b.id);
    assert_eq!(
        (a.correlation_id, b.correlation_id),
        (correlation, correlation)
    );
}

#[test]
fn garbage_is_not_json() {
    assert!(matches!(
        Envelope::parse("garbage{"),
        Err(EnvelopeError::NotJson(_))
    ));
    assert_eq!(Envelope::parse("[1,2]"), Err(EnvelopeError::NotAnObject));
}

#[test]
fn unknown_versions_are_refused_by_name() {
    let err = Envelope::parse(&doctored(|m| {
        m.insert("version".into(), "2".into());
    }))
    .unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::UnknownVersion {
            found: "\"2\"".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown envelope version \"2\": this code reads version 1"
    );
    // A number is not the string "1".
    let err = Envelope::parse(&doctored(|m| {
        m.insert("version".into(), 1.into());
    }))
    .unwrap_err();
    assert_eq!(err, EnvelopeError::UnknownVersion { found: "1".into() });
}

#[test]
fn each_missing_field_is_named() {
    for field in [
        "version",
        "id",
        "correlationId",
        "source",
        "type",
        "time",
        "data",
    ] {
        let err = Envelope::parse(&doctored(|m| {
            m.remove(field);
        }))
        .unwrap_err();
        assert_eq!(err, EnvelopeError::MissingField(field), "{field}");
    }
}

#[test]
fn invalid_fields_are_named() {
    let err = Envelope::parse(&doctored(|m| {
        m.insert("id".into(), "not-a-uuid".into());
    }))
    .unwrap_err();
    assert!(
        matches!(err, EnvelopeError::InvalidField { field: "id", .. }),
        "{err}"
    );
    let err = Envelope::parse(&doctored(|m| {
        m.insert("time".into(), "yesterday".into());
    }))
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("envelope field \"time\" is invalid: not RFC 3339"),
        "{err}"
    );
    let err = Envelope::parse(&doctored(|m| {
        m.insert("correlationId".into(), 42.into());
    }))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "envelope field \"correlationId\" is invalid: expected a string, found 42"
    );
}

#[test]
fn unknown_types_and_wrong_sources_are_refused() {
    let err = Envelope::parse(&doctored(|m| {
        m.insert("type".into(), "ItemSold".into());
    }))
    .unwrap_err();
    assert_eq!(err, EnvelopeError::UnknownType("ItemSold".into()));
    let err = Envelope::parse(&doctored(|m| {
        m.insert("source".into(), "ecobid.items".into());
    }))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "event type ReservationCreated comes from source ecobid.reservations, not \"ecobid.items\""
    );
}

#[test]
fn data_that_does_not_fit_its_type_names_the_field() {
    let err = Envelope::parse(&doctored(|m| {
        m.insert(
            "data".into(),
            json!({ "reservationId": "r1", "itemId": "i1", "buyerId": "u2", "sellerId": "u1" }),
        );
    }))
    .unwrap_err();
    assert!(
        matches!(
            err,
            EnvelopeError::InvalidData {
                event_type: EventType::ReservationCreated,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("missing field `expiresAt`"),
        "{err}"
    );
}
