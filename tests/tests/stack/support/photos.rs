//! Photos as the app uploads them: the presigned POST form the API hands out, and files of every kind a
//! seller might send (generated here; the phone photo is the repository's fixture).

use std::io::Cursor;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::api::Api;
use super::emulator::eventually;

/// Uploads `bytes` as a new photo of `item_id` through the presigned form; returns the photo's key.
pub(crate) async fn upload(
    api: &Api,
    user: &str,
    item_id: &str,
    content_type: &str,
    bytes: Vec<u8>,
    c: &str,
) -> String {
    let photo = api
        .call(
            Method::POST,
            &format!("/items/{item_id}/photos"),
            Some(user),
            Some(json!({"contentType": content_type})),
            c,
        )
        .await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.body);
    let form_spec = &photo.body["upload"];
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in form_spec["fields"].as_object().expect("fields") {
        form = form.text(k.clone(), v.as_str().expect("text").to_owned());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("photo"),
    );
    let sent = reqwest::Client::new()
        .post(form_spec["url"].as_str().expect("url"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert!(
        sent.status().is_success(),
        "upload answered {}",
        sent.status()
    );
    form_spec["fields"]["key"].as_str().expect("key").to_owned()
}

/// Waits until the photo with `key` is no longer PENDING; returns it.
pub(crate) async fn settled(api: &Api, item_id: &str, key: &str, c: &str) -> Value {
    settled_within(api, item_id, key, c, Duration::from_secs(90)).await
}

/// [`settled`], for at most `within`.
pub(crate) async fn settled_within(
    api: &Api,
    item_id: &str,
    key: &str,
    c: &str,
    within: Duration,
) -> Value {
    eventually(within, &format!("photo {key} settled"), || async {
        let got = api
            .call(Method::GET, &format!("/items/{item_id}"), None, None, c)
            .await;
        got.body["photos"]
            .as_object()?
            .values()
            .find(|p| p["key"] == key && p["status"] != "pending")
            .cloned()
    })
    .await
}

pub(crate) fn encoded(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    }));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A PNG whose header claims 20000×20000 pixels (a decompression bomb's header), with no pixels behind it.
pub(crate) fn bomb() -> Vec<u8> {
    let mut png = encoded(image::ImageFormat::Png, 1, 1);
    // IHDR's width and height sit at bytes 16..24; its CRC at 29..33.
    png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}
