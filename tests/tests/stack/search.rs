//! Search through the gateway with real tokens, kept by the index worker from the listing events: a listing
//! is found by its words whatever their case and ending, near its place, and no longer once it is reserved,
//! sold, expired or withdrawn (the index catches up within seconds).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::api::{correlation, run_id, somewhere, Api};
use crate::support::emulator::eventually;
use crate::support::notices::deliver_again;

const WITHIN: Duration = Duration::from_secs(30);

fn listing(title: &str, at: (f64, f64), mode: &str) -> Value {
    json!({
        "title": title, "description": "Seats six, a few scratches", "category": "furniture",
        "location": { "lat": at.0, "lon": at.1 }, "mode": mode
    })
}

/// Waits until `query` finds `id` (`present`) or no longer does.
async fn until(api: &Api, query: &str, id: &str, present: bool, c: &str) {
    let what = format!(
        "{query} {} {id}",
        if present { "finds" } else { "no longer finds" }
    );
    eventually(WITHIN, &what, || async {
        (api.listing_ids(query, c).await.iter().any(|i| i == id) == present).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_listing_is_found_by_its_words_until_it_is_taken_sold_expired_or_withdrawn() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let (seller, buyer) = (format!("srch-{run}"), format!("find-{run}"));
    for user in [&seller, &buyer] {
        api.user(user).await;
    }
    let at = somewhere();
    let near = format!("near={},{}&radiusKm=1", at.0, at.1);
    // GIVEN "Solid oak table" listed four times at a place of this run's own, and one auctioned
    let mut ids = vec![];
    for _ in 0..4 {
        ids.push(
            api.post(&seller, listing("Solid oak table", at, "free"), &c)
                .await,
        );
    }
    let lot = api
        .post(&seller, listing("Solid oak table", at, "auction"), &c)
        .await;
    let (reserved, expired, withdrawn, kept) = (&ids[0], &ids[1], &ids[2], &ids[3]);

    // THEN it is found by a word of its title in any case and ending, alone or near its place
    for q in ["q=table", "q=OAK", "q=tables"] {
        until(api, &format!("{q}&limit=50"), kept, true, &c).await;
        let here = api.listing_ids(&format!("{q}&{near}&limit=50"), &c).await;
        let mut want = ids.clone();
        want.push(lot.clone());
        for id in &want {
            assert!(here.contains(id), "{q} near its place: {here:?} lacks {id}");
        }
        assert_eq!(
            here.len(),
            5,
            "{q}: only this run's listings are there: {here:?}"
        );
    }
    assert!(api
        .listing_ids(&format!("q=lamp&{near}"), &c)
        .await
        .is_empty());

    // WHEN one is reserved, one expires, one is withdrawn and the auction is won
    let reservation = api.reserve(&buyer, reserved, &c).await;
    let auction = api.auction(&seller, &lot, 60, &c).await;
    api.bid(&buyer, &auction, 100, &c).await;
    let deleted = api
        .call(
            Method::DELETE,
            &format!("/items/{withdrawn}"),
            Some(&seller),
            None,
            &c,
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    // (time travel: the listing's expiresAt moved into the past, then the daily sweep comes due)
    api.expire_listing_now(expired).await;
    let sweep = json!({"due": "stale-listings", "correlationId": c}).to_string();
    deliver_again(api, "expiries", sweep).await;

    // THEN each leaves search within seconds of its event, the untouched one stays
    let q = format!("q=oak+table&{near}&limit=50");
    for gone in [reserved, expired, withdrawn] {
        until(api, &q, gone, false, &c).await;
    }
    // (the reserved one is picked up before the stack's short reservation TTL would put it back)
    for (step, user) in [("confirm", &seller), ("complete", &buyer)] {
        let moved = api
            .call(
                Method::POST,
                &format!("/reservations/{reservation}/{step}"),
                Some(user),
                (step == "confirm").then(|| json!({"pickupAt": "2026-12-01T17:00:00Z"})),
                &c,
            )
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{step}: {}", moved.body);
    }
    eventually(Duration::from_secs(150), "the auction closes", || async {
        let item = api
            .call(Method::GET, &format!("/items/{lot}"), None, None, &c)
            .await;
        (item.body["status"] == "sold").then_some(())
    })
    .await;
    until(api, &q, &lot, false, &c).await;
    assert_eq!(api.listing_ids(&q, &c).await, vec![kept.clone()]);
}
