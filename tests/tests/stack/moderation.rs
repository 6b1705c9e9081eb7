//! Moderation through the gateway with real tokens: a member of the user pool's moderators group (its token's
//! `cognito:groups`, as API Gateway hands a list claim on) takes a listing down and suspends a user; anyone
//! else gets 403. The listing leaves browse and search, an auction under way closes at once with no winner,
//! the seller and the suspended user are told why, and the suspended user's requests get 403 `suspended`
//! until a moderator reinstates them. And the text screening: a listing whose title the model reads as toxic
//! is hidden from browse and search and its seller told, until an edit reads clean.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::api::{correlation, run_id, somewhere, Api};
use crate::support::emulator::eventually;
use crate::support::notices::notices;

const WITHIN: Duration = Duration::from_secs(30);

fn listing(title: &str, at: (f64, f64), mode: &str) -> Value {
    json!({
        "title": title, "description": "Barely used", "category": "furniture",
        "location": { "lat": at.0, "lon": at.1 }, "mode": mode
    })
}

#[tokio::test]
async fn a_moderator_takes_a_listing_down_and_suspends_its_seller_until_reinstated() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let (seller, bidder, other, moderator) = (
        format!("modsell-{run}"),
        format!("modbid-{run}"),
        format!("modother-{run}"),
        format!("mod-{run}"),
    );
    let (seller_id, _) = api.user(&seller).await;
    let (bidder_id, _) = api.user(&bidder).await;
    api.user(&other).await;
    api.moderator(&moderator).await;
    let at = somewhere();
    let near = format!("near={},{}&radiusKm=1", at.0, at.1);

    // GIVEN a listing found by browse and search, and an auction with a bid
    let item = api
        .post(
            &seller,
            listing("Counterfeit designer lamp", at, "free"),
            &c,
        )
        .await;
    let lot = api
        .post(
            &seller,
            listing("Counterfeit designer chair", at, "auction"),
            &c,
        )
        .await;
    let auction = api.auction(&seller, &lot, 3600, &c).await;
    api.bid(&bidder, &auction, 100, &c).await;
    eventually(WITHIN, "the index finds the lamp", || async {
        api.listing_ids(&format!("q=counterfeit&{near}"), &c)
            .await
            .contains(&item)
            .then_some(())
    })
    .await;

    // WHEN a user outside the group tries THEN 403 moderators-only
    let takedown = |id: &str| format!("/admin/items/{id}/takedown");
    let refused = api
        .call(
            Method::POST,
            &takedown(&item),
            Some(&other),
            Some(json!({"reason": "fake"})),
            &c,
        )
        .await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::FORBIDDEN, "moderators-only"),
        "{}",
        refused.body
    );

    // WHEN the moderator takes both listings down
    for id in [&item, &lot] {
        let down = api
            .call(
                Method::POST,
                &takedown(id),
                Some(&moderator),
                Some(json!({"reason": "counterfeit goods"})),
                &c,
            )
            .await;
        assert_eq!(down.status, StatusCode::OK, "{}", down.body);
        assert_eq!(down.body["moderation"]["action"], "taken_down");
    }

    // THEN they leave browse and search, their pages are gone, the seller is told why on both channels
    assert!(
        api.listing_ids(&near, &c).await.is_empty(),
        "browse is at once"
    );
    eventually(WITHIN, "search no longer finds them", || async {
        api.listing_ids(&format!("q=counterfeit&{near}"), &c)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    let page = api
        .call(Method::GET, &format!("/items/{item}"), None, None, &c)
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    let inbox = notices(api).await;
    let told = inbox
        .wait(api, &c, "ItemTakenDown", &[seller_id.as_str()])
        .await;
    assert!(
        told.iter().all(|n| n.text.contains("counterfeit goods")),
        "{told:?}"
    );
    // AND the auction closed at once with no winner: the bidder lost
    let lost = inbox
        .wait(api, &c, "AuctionEnded", &[bidder_id.as_str()])
        .await;
    assert!(lost.iter().any(|n| n.recipient == bidder_id), "{lost:?}");
    let closed = api
        .call(Method::GET, &format!("/auctions/{auction}"), None, None, &c)
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    assert!(closed.body.get("leaderId").is_none(), "{}", closed.body);

    // WHEN the moderator suspends the seller THEN each request of theirs is 403 suspended, and they are told
    let suspend = format!("/admin/users/{seller_id}/suspend");
    let suspended = api
        .call(
            Method::POST,
            &suspend,
            Some(&moderator),
            Some(json!({"reason": "repeated counterfeits"})),
            &c,
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(suspended.body["account"], "suspended");
    let me = api
        .call(Method::GET, "/users/me", Some(&seller), None, &c)
        .await;
    assert_eq!(
        (me.status, me.problem()),
        (StatusCode::FORBIDDEN, "suspended"),
        "{}",
        me.body
    );
    inbox
        .wait(api, &c, "UserSuspended", &[seller_id.as_str()])
        .await;

    // WHEN reinstated THEN they are back
    let back = api
        .call(
            Method::POST,
            &format!("/admin/users/{seller_id}/reinstate"),
            Some(&moderator),
            None,
            &c,
        )
        .await;
    assert_eq!(back.body["account"], "active", "{}", back.body);
    let me = api
        .call(Method::GET, "/users/me", Some(&seller), None, &c)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
}

#[tokio::test]
async fn a_toxic_title_is_hidden_and_its_seller_told_until_an_edit_reads_clean() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let seller = format!("toxsell-{run}");
    let (seller_id, _) = api.user(&seller).await;
    let at = somewhere();
    let near = format!("near={},{}&radiusKm=1", at.0, at.1);
    // GIVEN a clean listing and one whose title the emulator's model reads as toxic (its marker)
    let mut posted = vec![];
    for title in ["Walnut bookshelf", "Walnut ecobid-toxic shelf"] {
        posted.push(api.post(&seller, listing(title, at, "free"), &c).await);
    }
    let (clean, toxic) = (&posted[0], &posted[1]);

    // THEN the clean one is listed and found; the toxic one leaves browse, is never found, its seller is told
    eventually(WITHIN, "search finds the clean listing", || async {
        api.listing_ids(&format!("q=walnut&{near}"), &c)
            .await
            .contains(clean)
            .then_some(())
    })
    .await;
    eventually(WITHIN, "the toxic listing leaves browse", || async {
        (api.listing_ids(&near, &c).await == vec![clean.clone()]).then_some(())
    })
    .await;
    assert_eq!(
        api.listing_ids(&format!("q=walnut&{near}"), &c).await,
        vec![clean.clone()]
    );
    let told = notices(api)
        .await
        .wait(api, &c, "ItemFlagged", &[seller_id.as_str()])
        .await;
    assert!(told.iter().all(|n| n.text.contains("insult")), "{told:?}");
    let page = api
        .call(Method::GET, &format!("/items/{toxic}"), None, None, &c)
        .await;
    assert_eq!(
        page.body["moderation"]["action"], "flagged",
        "{}",
        page.body
    );

    // WHEN the seller edits the title THEN the edit is screened: clean, it is listed and found again
    let etag = page.etag.clone().expect("an ETag");
    let edited = api
        .call_with(
            Method::PATCH,
            &format!("/items/{toxic}"),
            Some(&seller),
            Some(json!({"title": "Walnut shelf"})),
            &[("if-match", &etag)],
            &c,
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    eventually(WITHIN, "search finds the edited listing", || async {
        let found = api.listing_ids(&format!("q=shelf&{near}"), &c).await;
        (found.contains(toxic) && api.listing_ids(&near, &c).await.contains(toxic)).then_some(())
    })
    .await;
}
