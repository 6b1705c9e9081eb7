//! Flows 1–4 of DOMAIN.md end to end on the local stack, through the four workers: from the HTTP call to the
//! SNS publish (seen on a queue of the test's own subscribed to the push and email topics), with the table's
//! final state read back through the API, duplicate deliveries of the workers' messages changing nothing, and
//! every DLQ empty at the end
//! (`zz_after_all`). Each flow is a test of its own on workspace B. Time travel: the local workspace's reservations last 45 s and auctions may be
//! 60 s long (terraform/env/local.tfvars); the runner fires the schedules the workers create.

use std::time::Duration;

use domain::event::Envelope;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::api::{auction_of, correlation, event, events_of, item, profile, Api};
use crate::support::emulator::{eventually, queue_depth};
use crate::support::notices::{deliver_again, notices, once_each};
use crate::support::photos::{bomb, encoded, settled, upload};
use crate::support::workspace_b;

// ---- flow 1 ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_1_a_new_item_notifies_the_neighbours_but_not_its_seller() {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let c = correlation();
    // GIVEN a neighbour living 600 m from the Eiffel tower, one in Lyon, and the seller at home there too
    let home = |lat: f64, lon: f64| json!({ "home": { "lat": lat, "lon": lon } });
    for (user, body) in [
        ("nina", home(48.8530, 2.3000)),
        ("leo", home(45.7640, 4.8357)),
        ("sol", home(48.8584, 2.2945)),
    ] {
        let put = api
            .call(Method::PUT, "/users/me", Some(user), Some(body), &c)
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    }
    let (nina, leo, sol) = (
        api.user("nina").await.0,
        api.user("leo").await.0,
        api.user("sol").await.0,
    );
    // WHEN the seller posts an item at the tower
    let posted = api
        .call(Method::POST, "/items", Some("sol"), Some(item("free")), &c)
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    // THEN the neighbour is told on both channels, with the item's title
    // (the correlation id travels to the notice: `wait` finds them by it)
    let seen = notices.wait(api, &c, "ItemCreated", &[&nina]).await;
    for n in &seen {
        assert!(n.text.contains("Oak table"), "{n:?}");
    }
    assert!(
        seen.iter()
            .any(|n| n.channel == "email" && n.address == "nina@example.com"),
        "{seen:?}"
    );
    once_each(&seen);
    // AND neither the seller nor the user in Lyon is (a few more seconds for anything late)
    tokio::time::sleep(Duration::from_secs(3)).await;
    let others: Vec<_> = notices
        .of(&c)
        .await
        .into_iter()
        .filter(|n| n.recipient == leo || n.recipient == sol)
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

// ---- flow 2 ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_2_an_unfinished_reservation_expires_and_both_parties_hear_of_it() {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let tap = api.tap().await;
    let c = correlation();
    let (seller, buyer) = (api.user("ena").await.0, api.user("max").await.0);
    let id = api.free_item("ena", &c).await;
    // WHEN the buyer reserves it and nobody completes the pickup
    let r = api.reserve("max", &id, &c).await;
    // THEN the seller is told of the reservation
    notices
        .wait(api, &c, "ReservationCreated", &[&seller])
        .await;
    // AND at expiresAt (45 s here) the reservation expires: the item is AVAILABLE again, both are told
    let expired = notices
        .wait(api, &c, "ReservationExpired", &[&seller, &buyer])
        .await;
    once_each(&expired);
    let events = events_of(
        api,
        &tap,
        &c,
        &["ItemCreated", "ReservationCreated", "ReservationExpired"],
    )
    .await;
    let got = api
        .call(
            Method::GET,
            &format!("/reservations/{r}"),
            Some("max"),
            None,
            &c,
        )
        .await;
    assert_eq!(got.body["status"], "expired", "{}", got.body);
    let item_now = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(item_now.body["status"], "available", "{}", item_now.body);

    // Duplicate deliveries: the expiry step again, and ReservationExpired to the notifications queue again.
    let expiry = json!({"due": "reservation-expiry", "reservationId": r, "correlationId": c});
    deliver_again(api, "expiries", expiry.to_string()).await;
    let expired_event = event(&events, "ReservationExpired");
    deliver_again(api, "notifications", expired_event.to_json_string()).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let again = notices
        .wait(api, &c, "ReservationExpired", &[&seller, &buyer])
        .await;
    assert_eq!(again.len(), 4, "one per recipient and channel: {again:?}");
    let still = api
        .call(
            Method::GET,
            &format!("/reservations/{r}"),
            Some("max"),
            None,
            &c,
        )
        .await;
    assert_eq!(still.body["status"], "expired");
}

// ---- flow 3 ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_3_the_auction_closes_once_and_every_party_is_told() {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let tap = api.tap().await;
    let c = correlation();
    let (seller, ann, bob) = (
        api.user("sue").await.0,
        api.user("ann").await.0,
        api.user("bob").await.0,
    );
    let before = (profile(api, "ann", &c).await, profile(api, "sue", &c).await);
    // GIVEN a one-minute auction
    let (auction, _) = auction_of(api, "sue", 1000, 60, &c).await;
    // WHEN ann bids, then bob outbids her
    for (who, amount) in [("ann", 1000), ("bob", 1100)] {
        let bid = api
            .call(
                Method::POST,
                &format!("/auctions/{auction}/bids"),
                Some(who),
                Some(json!({"amount": amount})),
                &c,
            )
            .await;
        assert_eq!(bid.status, StatusCode::CREATED, "{}", bid.body);
    }
    // THEN ann hears she was outbid
    notices.wait(api, &c, "BidPlaced", &[&ann]).await;
    // AND at endsAt the close: bob won 1100 of 2 bids, ann lost; winner, seller and loser are told
    let ended = notices
        .wait(api, &c, "AuctionEnded", &[&bob, &seller, &ann])
        .await;
    once_each(&ended);
    let events = events_of(
        api,
        &tap,
        &c,
        &[
            "ItemCreated",
            "AuctionCreated",
            "BidPlaced",
            "BidPlaced",
            "AuctionEnded",
        ],
    )
    .await;
    let end = event(&events, "AuctionEnded");
    let data = &end.to_json()["data"];
    assert_eq!(
        (&data["winnerId"], &data["amount"], &data["bidCount"]),
        (&json!(bob), &json!(1100), &json!(2))
    );
    assert_eq!(data["loserIds"], json!([ann]));
    let closed = api
        .call(Method::GET, &format!("/auctions/{auction}"), None, None, &c)
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    let item_id = closed.body["itemId"].as_str().expect("item");
    let sold = api
        .call(Method::GET, &format!("/items/{item_id}"), None, None, &c)
        .await;
    assert_eq!(sold.body["status"], "sold");

    // Duplicate deliveries: the close again, and AuctionEnded to the notifications queue again.
    let close = json!({"due": "auction-close", "auctionId": auction, "correlationId": c});
    deliver_again(api, "auction-closes", close.to_string()).await;
    deliver_again(api, "notifications", end.to_json_string()).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let again = notices
        .wait(api, &c, "AuctionEnded", &[&bob, &seller, &ann])
        .await;
    assert_eq!(again.len(), 6, "one per recipient and channel: {again:?}");
    // Stats moved once: bob won one more, sue sold one more, ann none.
    let stat = |p: &Value, k: &str| p["stats"][k].as_u64().unwrap_or(0);
    let (bob_now, sue_now, ann_now) = (
        profile(api, "bob", &c).await,
        profile(api, "sue", &c).await,
        profile(api, "ann", &c).await,
    );
    assert_eq!(
        stat(&sue_now, "auctionsSold"),
        stat(&before.1, "auctionsSold") + 1
    );
    assert_eq!(
        stat(&ann_now, "auctionsWon"),
        stat(&before.0, "auctionsWon")
    );
    assert!(stat(&bob_now, "auctionsWon") >= 1);
    let ends: Vec<Envelope> = events_of(api, &tap, &c, &[]).await;
    assert!(ends.is_empty(), "no second AuctionEnded: {ends:?}");
}

// ---- flow 4 ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_4_photos_end_ready_or_rejected_with_their_reason() {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let c = correlation();
    let seller = api.user("pia").await.0;
    let id = api.free_item("pia", &c).await;
    let phone =
        std::fs::read(e2e::repo_root().join("fixtures/images/phone_photo_4000x3000_orient6.jpg"))
            .expect("the fixture photo");
    let half = phone[..phone.len() / 2].to_vec();
    // (what, content type the app declared, bytes, expected status, a word of the reason)
    let cases: Vec<(&str, &str, Vec<u8>, &str, &str)> = vec![
        ("phone photo", "image/jpeg", phone.clone(), "ready", ""),
        (
            "png",
            "image/png",
            encoded(image::ImageFormat::Png, 640, 480),
            "ready",
            "",
        ),
        (
            "webp",
            "image/webp",
            encoded(image::ImageFormat::WebP, 300, 600),
            "ready",
            "",
        ),
        ("truncated jpeg", "image/jpeg", half, "rejected", "damaged"),
        ("zero bytes", "image/jpeg", vec![], "rejected", "empty"),
        (
            "text named .jpg",
            "image/jpeg",
            b"hello, I am not a photo\n".to_vec(),
            "rejected",
            "not a JPEG",
        ),
        (
            "20000x20000 bomb",
            "image/png",
            bomb(),
            "rejected",
            "over the 50 MP limit",
        ),
    ];
    let mut keys = vec![];
    for (what, content_type, bytes, _, _) in &cases {
        keys.push((
            *what,
            upload(api, "pia", &id, content_type, bytes.clone(), &c).await,
        ));
    }
    let http = reqwest::Client::new();
    let mut media_base = None;
    for ((what, _, _, status, reason), (_, key)) in cases.iter().zip(&keys) {
        let photo = settled(api, &id, key, &c).await;
        if *status == "ready" && key == &keys[0].1 {
            // The first photo READY suggests the category its labels show (the emulator's Rekognition sees
            // a "Mobile Phone" in every picture).
            let item = api
                .call(Method::GET, &format!("/items/{id}"), None, None, &c)
                .await;
            assert_eq!(
                item.body["suggestedCategory"], "electronics",
                "{}",
                item.body
            );
        }
        assert_eq!(photo["status"], *status, "{what}: {photo}");
        if *status == "rejected" {
            let told = photo["reason"].as_str().unwrap_or_default();
            assert!(
                told.contains(reason),
                "{what}: reason {told:?} lacks {reason:?}"
            );
            assert!(
                photo.get("urls").is_none(),
                "{what}: a URL for a rejected photo: {photo}"
            );
            continue;
        }
        // READY: three thumbnails served by the CDN at the URLs the API gives, JPEG, long side 1024/512/128,
        // aspect kept (and upright for the phone photo), cached a year.
        assert_eq!(
            photo["urls"].as_object().map(|u| u.len()),
            Some(3),
            "{what}: {photo}"
        );
        for (size, name) in [(1024u32, "1024"), (512, "512"), (128, "128")] {
            let url = photo["urls"][name]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no {name} URL: {photo}"));
            let tkey = photo["thumbnails"][name].as_str().expect("its key");
            media_base
                .get_or_insert_with(|| url.strip_suffix(tkey).expect("<base>/<key>").to_owned());
            let served = http.get(url).send().await.expect("the CDN answers");
            assert_eq!(served.status(), StatusCode::OK, "{what}: {url}");
            let header = |n: &str| {
                served
                    .headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            assert_eq!(header("content-type"), "image/jpeg", "{what}: {url}");
            assert!(
                header("cache-control").contains("max-age=31536000"),
                "{what}: {}",
                header("cache-control")
            );
            assert!(
                header("x-cache").ends_with("from cloudfront"),
                "{what}: {}",
                header("x-cache")
            );
            let bytes = served.bytes().await.expect("bytes").to_vec();
            assert_eq!(
                image::guess_format(&bytes).expect("format"),
                image::ImageFormat::Jpeg,
                "{what}"
            );
            let mut decoder = jpeg_decoder::Decoder::new(bytes.as_slice());
            decoder.decode().expect("the thumbnail decodes");
            let info = decoder.info().expect("JPEG info");
            let (w, h) = (u32::from(info.width), u32::from(info.height));
            if *what == "phone photo" {
                assert_eq!((w, h), (size * 3 / 4, size), "{what}: upright {size}");
            } else {
                // Never enlarged: the PNG is 640 px on its long side, the WebP 600.
                let long = if *what == "png" { 640 } else { 600 };
                assert_eq!(w.max(h), size.min(long), "{what}: {w}x{h} for {size}");
            }
        }
        assert!(
            photo["labels"].as_array().is_some_and(|l| !l.is_empty()),
            "{what}: labels {photo}"
        );
    }
    // The originals are never behind the CDN: an upload's own key is not served (the thumbnails bucket has
    // no such key, and CloudFront may not list it: 403, as CloudFront answers).
    let media_base = media_base.expect("a READY photo");
    let (_, phone_key) = &keys[0];
    for path in [
        phone_key.clone(),
        phone_key.trim_start_matches("uploads/").to_owned(),
    ] {
        let original = http
            .get(format!("{media_base}{path}"))
            .send()
            .await
            .expect("the CDN answers");
        assert_eq!(original.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // The seller is told of each rejection (4 photos: 4 events, each on push and email).
    let rejected = eventually(
        Duration::from_secs(60),
        "4 ImageRejected notices",
        || async {
            let seen = notices.wait(api, &c, "ImageRejected", &[&seller]).await;
            (seen.len() >= 8).then_some(seen)
        },
    )
    .await;
    once_each(&rejected);
    assert_eq!(rejected.len(), 8, "{rejected:?}");

    // Moderation: a photo the moderation model flags ends REJECTED with its labels as the reason, and no URL.
    // (The emulator's model flags the test pattern, a mostly magenta image, moto patch 9: it sees the pixels of
    // the worker's own 1024 px thumbnail, so what is moderated is what would be shown.)
    let magenta = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        1200,
        900,
        image::Rgb([255, 0, 255]),
    ));
    let mut png = std::io::Cursor::new(Vec::new());
    magenta
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encode");
    let key = upload(api, "pia", &id, "image/png", png.into_inner(), &c).await;
    let flagged = settled(api, &id, &key, &c).await;
    assert_eq!(flagged["status"], "rejected", "{flagged}");
    assert!(
        flagged["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("Violence"),
        "{flagged}"
    );
    assert!(flagged.get("urls").is_none(), "{flagged}");
}

/// Image work within the function's memory, whatever the batch: five 7000×7000 16-bit RGBA PNGs (small on
/// disk, each about 600 MB once decoded and converted) and a phone photo land in the images queue within one
/// batching window, on a 1 GB function that the runner holds to its memory_size as Lambda does. Every photo
/// settles, no process is killed, and nothing is dead-lettered: the worker's memory budget works the huge ones
/// through one at a time. (Without the budget, `-var image_memory_budget_mb=100000`, two of them decoded at
/// once exhaust the function: see docs/local-stack.md.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_4_a_batch_of_huge_photos_is_worked_through_within_the_function_memory() {
    let api = &Api::on_b().await;
    let c = correlation();
    let id = api.free_item("hugo", &c).await;
    let images = workspace_b::shared()
        .images_worker
        .clone()
        .expect("the runner runs the images worker");
    let before = images.stats();
    let huge = tokio::task::spawn_blocking(|| {
        let img = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::from_fn(7000, 7000, |x, y| {
            image::Rgba([(x * 9) as u16, (y * 9) as u16, 30_000, 65_535])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgba16(img)
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encode");
        out.into_inner()
    })
    .await
    .expect("the PNG");
    assert!(
        huge.len() < 15 << 20,
        "{} bytes: over the upload limit",
        huge.len()
    );
    let phone =
        std::fs::read(e2e::repo_root().join("fixtures/images/phone_photo_4000x3000_orient6.jpg"))
            .expect("the fixture photo");
    let mut files: Vec<(&str, Vec<u8>)> = (0..5).map(|_| ("image/png", huge.clone())).collect();
    files.push(("image/jpeg", phone));
    // All six uploads at once, so they reach the queue within the batching window.
    let uploads = files
        .into_iter()
        .map(|(content_type, bytes)| upload(api, "hugo", &id, content_type, bytes, &c));
    let keys = futures::future::join_all(uploads).await;
    // Every photo settles (or the failure says what happened to the worker's processes).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let photos = loop {
        let item = api
            .call(Method::GET, &format!("/items/{id}"), None, None, &c)
            .await;
        let photos: Vec<Value> = item.body["photos"]
            .as_object()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default();
        if photos.len() == keys.len() && photos.iter().all(|p| p["status"] != "pending") {
            break photos;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every photo settled within 120 s; the images worker's processes: {:?}",
            images.stats()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    for photo in &photos {
        assert_eq!(photo["status"], "ready", "{photo}");
        assert_eq!(
            photo["urls"].as_object().map(|u| u.len()),
            Some(3),
            "{photo}"
        );
    }
    let after = images.stats();
    assert_eq!(
        (
            after.exits - before.exits,
            after.out_of_memory - before.out_of_memory
        ),
        (0, 0),
        "images worker processes killed or crashed: {after:?}"
    );
    eprintln!(
        "images worker: max memory used {:?} MB of 1024",
        after.max_memory_used_mb
    );
    // Where the runner measures it (a cgroup), the load was real: one huge PNG at a time is over 500 MB.
    if let Some(used) = after.max_memory_used_mb {
        assert!(
            used >= 500,
            "the huge PNGs used only {used} MB: the test proves nothing"
        );
    }
    // Nothing dead-lettered (zz_after_all checks every DLQ of the workspace at the end as well).
    let dlq = api.outputs["queues"]["images"]["dlq_url"]
        .as_str()
        .expect("dlq");
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    assert_eq!(queue_depth(&sqs, dlq).await, 0, "the images DLQ");
}

// ---- ops: a poisoned flow, fixed and redriven ------------------------------------------------------------

/// After the flows: a photo whose thumbnails cannot be stored (the emulator refuses their writes with
/// AccessDenied, a permanent error, so the runtime dead-letters the upload at once) completes once the cause is
/// fixed (the fault is lifted) and ops redrive the images DLQ with `ecobid-ops`. The fault is the test's own:
/// it matches only this item's thumbnail keys, and the workspace's infrastructure is left as applied (the
/// infrastructure suite checks its plan meanwhile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_photo_completes_after_the_fix_and_a_redrive() {
    let api = &Api::on_b().await;
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    let bucket = api.outputs["thumbnails_bucket"].as_str().expect("bucket");
    let dlq = api.outputs["queues"]["images"]["dlq_url"]
        .as_str()
        .expect("images DLQ");
    let c = correlation();
    let id = api.free_item("pia", &c).await;
    let (pia, _) = api.user("pia").await;
    // The cause: the thumbnails of this item cannot be written.
    let denied = e2e::faults::Faults::new(&api.emulator.endpoint)
        .inject(
            e2e::faults::Fault::new("s3", "PutObject", "AccessDenied", 403)
                .matching(&format!("{bucket}/{pia}/{id}/"))
                .message("Access Denied"),
        )
        .await;
    let key = upload(
        api,
        "pia",
        &id,
        "image/png",
        encoded(image::ImageFormat::Png, 640, 480),
        &c,
    )
    .await;
    let depth = || async {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(dlq)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("attributes");
        attrs
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    eventually(
        Duration::from_secs(60),
        "the upload dead-lettered",
        || async { (depth().await == 1).then_some(()) },
    )
    .await;
    let got = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    let pending = got.body["photos"]
        .as_object()
        .and_then(|p| p.values().find(|p| p["key"] == key.as_str()))
        .map(|p| p["status"].clone());
    assert_eq!(pending, Some(json!("pending")), "{}", got.body);

    assert!(denied.hits().await >= 1, "the thumbnail write was refused");
    // The fix, then the redrive.
    denied.remove().await;
    let ops = crate::support::ops::Ops::of(&api.emulator.workspace, &api.emulator.endpoint);
    let peeked = ops.ok(&["dlq", "peek", "images-dlq", "--json"]);
    let letter: Value = serde_json::from_str(peeked.trim()).expect("one letter");
    assert_eq!(letter["type"], "s3:ObjectCreated", "{letter}");
    assert_eq!(letter["errorKind"], "permanent", "{letter}");
    assert!(
        letter["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("AccessDenied"),
        "{letter}"
    );
    ops.ok(&["dlq", "redrive", "images-dlq", "--yes"]);
    let photo = settled(api, &id, &key, &c).await;
    assert_eq!(photo["status"], "ready", "{photo}");
    assert_eq!(depth().await, 0);
}
