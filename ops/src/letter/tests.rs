use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .expect("time")
}

fn received(body: &str, attributes: &[(&str, &str)]) -> Received {
    Received {
        message_id: "m1".into(),
        receipt_handle: "rh".into(),
        body: body.into(),
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Attribute::string(*v)))
            .collect(),
        receive_count: 2,
        sent_at: Some(now() - chrono::Duration::hours(3)),
    }
}

const ENVELOPE: &str = r#"{"version":"1","id":"e1","correlationId":"c1","type":"ItemCreated","source":"ecobid.items","time":"2026-11-21T09:00:00Z","data":{}}"#;

#[test]
fn an_envelope_dead_lettered_by_the_runtime_shows_its_event_and_failure() {
    // GIVEN a dead letter the worker runtime sent, WHEN decoded
    let letter = Letter::decode(&received(
        ENVELOPE,
        &[
            (ERROR_KIND, "rejected"),
            (ERROR_MESSAGE, "no such item"),
            (FAILED_AT, "2026-11-21T11:00:00.000Z"),
            (REDRIVE_COUNT, "2"),
        ],
    ));
    // THEN the event and the failure are there
    assert_eq!(letter.kind_of_body, "ItemCreated");
    assert_eq!(letter.event_id.as_deref(), Some("e1"));
    assert_eq!(letter.correlation_id.as_deref(), Some("c1"));
    assert_eq!(letter.error_kind, "rejected");
    assert_eq!(letter.error_message.as_deref(), Some("no such item"));
    assert_eq!(letter.age(now()), Duration::from_secs(3600));
    assert_eq!((letter.receive_count, letter.redrive_count), (2, 2));
}

#[test]
fn a_letter_without_error_attributes_ran_out_of_retries() {
    let letter = Letter::decode(&received(
        "{\"due\":\"auction-close\",\"auctionId\":\"a\"}",
        &[],
    ));
    assert_eq!(letter.kind_of_body, "due:auction-close");
    assert_eq!(letter.error_kind, ErrorKind::RetriesExhausted.as_str());
    // No failed.at: when it entered the DLQ.
    assert_eq!(letter.age(now()), Duration::from_secs(3 * 3600));
}

#[test]
fn bodies_that_are_not_envelopes_say_what_they_are() {
    let s3 = r#"{"Records":[{"eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
    assert_eq!(
        Letter::decode(&received(s3, &[])).kind_of_body,
        "s3:ObjectCreated"
    );
    assert_eq!(
        Letter::decode(&received("hello", &[])).kind_of_body,
        "(not JSON)"
    );
    assert_eq!(
        Letter::decode(&received("[1]", &[])).kind_of_body,
        "(unknown)"
    );
    let wrapped = r#"{"detail-type":"BidPlaced","detail":{"id":"e2","correlationId":"c2"}}"#;
    let letter = Letter::decode(&received(wrapped, &[]));
    assert_eq!(letter.kind_of_body, "BidPlaced");
    assert_eq!(letter.event_id.as_deref(), Some("e2"));
    // The correlation id from the attribute when the body has none.
    let letter = Letter::decode(&received("x", &[("correlationId", "c3")]));
    assert_eq!(letter.correlation_id.as_deref(), Some("c3"));
}

#[test]
fn filters_parse_and_refuse_what_they_do_not_know() {
    assert_eq!(
        "type=ItemCreated".parse::<Condition>(),
        Ok(Condition::Type("ItemCreated".into()))
    );
    assert_eq!(
        "older-than=2h".parse::<Condition>(),
        Ok(Condition::OlderThan(Duration::from_secs(7200)))
    );
    assert_eq!(
        "body=a=b".parse::<Condition>(),
        Ok(Condition::Body("a=b".into()))
    );
    for (bad, says) in [
        ("type", "not KEY=VALUE"),
        ("kind=", "needs a value"),
        ("colour=red", "unknown filter key \"colour\""),
        ("older-than=soon", "not an age"),
    ] {
        let err = bad.parse::<Condition>().unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn conditions_on_one_key_are_alternatives_and_keys_must_all_hold() {
    let letter = Letter::decode(&received(ENVELOPE, &[(ERROR_KIND, "rejected")]));
    let filter = |conditions: &[&str]| {
        Filter(
            conditions
                .iter()
                .map(|c| c.parse().expect("condition"))
                .collect(),
        )
    };
    assert!(filter(&[]).matches(&letter, now()));
    assert!(filter(&["type=BidPlaced", "type=ItemCreated"]).matches(&letter, now()));
    assert!(!filter(&["type=BidPlaced"]).matches(&letter, now()));
    assert!(filter(&["type=ItemCreated", "kind=rejected"]).matches(&letter, now()));
    assert!(!filter(&["type=ItemCreated", "kind=transient"]).matches(&letter, now()));
    assert!(filter(&["older-than=2h", "newer-than=4h"]).matches(&letter, now()));
    assert!(!filter(&["older-than=4h"]).matches(&letter, now()));
    assert!(filter(&["body=ecobid.items"]).matches(&letter, now()));
    assert!(!filter(&["body=ecobid.auctions"]).matches(&letter, now()));
    // A substring of the type is not the type.
    assert!(!filter(&["type=Item"]).matches(&letter, now()));
}

#[test]
fn the_summary_counts_error_kinds_most_frequent_first() {
    let letters: Vec<Letter> = ["rejected", "transient", "rejected", "invalid_message"]
        .iter()
        .map(|k| Letter::decode(&received(ENVELOPE, &[(ERROR_KIND, k)])))
        .collect();
    let summary = Summary::of(&letters);
    assert_eq!(summary.scanned, 4);
    assert_eq!(
        summary.error_kinds,
        vec![
            ("rejected".to_owned(), 2),
            ("invalid_message".to_owned(), 1),
            ("transient".to_owned(), 1)
        ]
    );
    assert_eq!(
        summary.oldest_failed_at,
        Some(now() - chrono::Duration::hours(3))
    );
}

#[test]
fn redriven_messages_keep_their_attributes_drop_the_failure_and_count_the_redrive() {
    let m = received(
        ENVELOPE,
        &[
            ("correlationId", "c1"),
            (ERROR_KIND, "rejected"),
            (ERROR_MESSAGE, "x"),
            (FAILED_AT, "2026-11-21T11:00:00Z"),
            (REDRIVE_COUNT, "1"),
        ],
    );
    let out = redriven_attributes(&m.attributes);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out["correlationId"], Attribute::string("c1"));
    assert_eq!(out[REDRIVE_COUNT], Attribute::number(2));
    // First redrive; and never over SQS's ten attributes.
    let many: Vec<(String, String)> = (0..12).map(|i| (format!("a{i:02}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = redriven_attributes(&received("x", &refs).attributes);
    assert_eq!(out.len(), MAX_ATTRIBUTES);
    assert_eq!(out[REDRIVE_COUNT], Attribute::number(1));
}
