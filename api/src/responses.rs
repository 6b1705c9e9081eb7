//! The response bodies that carry photos, as the app sees them: the domain's item and photo, with the absolute
//! URL of each thumbnail of a READY photo and the item's cover, so an `<img>` needs nothing else. Thumbnails are
//! served by the CDN in front of the thumbnails bucket (`MEDIA_BASE_URL`, terraform's `cdn` module): a URL is
//! `<MEDIA_BASE_URL>/<thumbnail key>`, and a key never changes its bytes (a new photo is a new key), so the
//! CDN caches it for a year. PENDING and REJECTED photos have no URLs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::item::{
    Category, Item, ItemMode, ItemStatus, Location, Moderation, Photo, PhotoStatus,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::Serialize;
use utoipa::ToSchema;

/// The thumbnail size a list screen shows (the cover).
pub const COVER_SIZE: &str = "512";

/// What a path segment may not hold unescaped (RFC 3986 `pchar` complement, and `%`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Where thumbnails are served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    base: String,
}

impl Media {
    /// `base`: an absolute `https://` URL (`http://` is taken too: the local runner's CDN edge).
    pub fn new(base: &str) -> Result<Self, String> {
        let trimmed = base.trim().trim_end_matches('/');
        let host = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"));
        match host {
            Some(h) if !h.is_empty() && !h.contains(['?', '#', ' ']) => Ok(Self {
                base: trimmed.to_owned(),
            }),
            _ => Err(format!(
                "{base:?} is not an absolute http(s) URL without query or fragment"
            )),
        }
    }

    /// The URL of the object `key` (each `/`-separated segment percent-encoded).
    pub fn url(&self, key: &str) -> String {
        let path: Vec<String> = key
            .split('/')
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        format!("{}/{}", self.base, path.join("/"))
    }
}

/// A photo, with its thumbnails' URLs once `ready`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhotoView {
    #[serde(flatten)]
    pub photo: Photo,
    /// Absolute URLs of the thumbnails by long-side size ("128", "512", "1024"): `ready` photos only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urls: Option<BTreeMap<String, String>>,
}

impl PhotoView {
    pub fn new(photo: Photo, media: &Media) -> Self {
        let urls =
            (photo.status == PhotoStatus::Ready && !photo.thumbnails.is_empty()).then(|| {
                photo
                    .thumbnails
                    .iter()
                    .map(|(size, key)| (size.clone(), media.url(key)))
                    .collect()
            });
        Self { photo, urls }
    }
}

/// The picture a list shows for an item: the 512 px thumbnail of its first `ready` photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cover {
    pub photo_id: String,
    /// Long-side size of the thumbnail, px.
    pub size: u32,
    pub url: String,
}

/// An item as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    pub id: String,
    pub seller_id: String,
    pub title: String,
    pub description: String,
    pub category: Category,
    pub location: Location,
    pub mode: ItemMode,
    pub status: ItemStatus,
    /// Photos by id.
    pub photos: BTreeMap<String, PhotoView>,
    /// The first `ready` photo's 512 px thumbnail (in upload order); absent until a photo is `ready`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover: Option<Cover>,
    pub created_at: DateTime<Utc>,
    /// When the listing expires if not taken.
    pub expires_at: DateTime<Utc>,
    /// The active reservation, while `reserved`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// The item's auction, once one was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auction_id: Option<String>,
    /// Why the listing is hidden from browse and search, when moderation hid it (its seller sees this).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
    /// The category the first `ready` photo suggests (from its labels); the seller may accept it with an edit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_category: Option<Category>,
}

impl ItemView {
    pub fn new(item: Item, media: &Media) -> Self {
        let cover = item
            .photos
            .values()
            .filter(|p| p.status == PhotoStatus::Ready)
            .filter_map(|p| Some((p, p.thumbnails.get(COVER_SIZE)?)))
            .min_by(|(a, _), (b, _)| {
                (a.position, a.created_at, &a.id).cmp(&(b.position, b.created_at, &b.id))
            })
            .map(|(p, key)| Cover {
                photo_id: p.id.clone(),
                size: COVER_SIZE.parse().expect("a number"),
                url: media.url(key),
            });
        Self {
            photos: item
                .photos
                .into_iter()
                .map(|(id, p)| (id, PhotoView::new(p, media)))
                .collect(),
            cover,
            id: item.id,
            seller_id: item.seller_id,
            title: item.title,
            description: item.description,
            category: item.category,
            location: item.location,
            mode: item.mode,
            status: item.status,
            created_at: item.created_at,
            expires_at: item.expires_at,
            reservation_id: item.reservation_id,
            auction_id: item.auction_id,
            moderation: item.moderation,
            suggested_category: item.suggested_category,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn media() -> Media {
        Media::new("https://d111111abcdef8.cloudfront.net/").expect("media")
    }

    fn photo(id: &str, status: PhotoStatus, minute: u32) -> Photo {
        let ready = status == PhotoStatus::Ready;
        Photo {
            id: id.into(),
            key: format!("uploads/u/i/{id}"),
            status,
            thumbnails: if ready {
                ["128", "512", "1024"]
                    .iter()
                    .map(|s| (s.to_string(), format!("u/i/{id}/{s}.jpg")))
                    .collect()
            } else {
                BTreeMap::new()
            },
            labels: vec![],
            reason: (status == PhotoStatus::Rejected).then(|| "flagged".into()),
            created_at: Utc.with_ymd_and_hms(2026, 12, 1, 10, minute, 0).unwrap(),
            position: minute,
        }
    }

    #[test]
    fn only_ready_photos_have_urls_one_per_size_under_the_media_base() {
        let m = media();
        let ready = PhotoView::new(photo("p1", PhotoStatus::Ready, 0), &m);
        let urls = ready.urls.expect("urls");
        assert_eq!(urls.len(), 3);
        assert_eq!(
            urls["512"],
            "https://d111111abcdef8.cloudfront.net/u/i/p1/512.jpg"
        );
        assert_eq!(
            PhotoView::new(photo("p2", PhotoStatus::Pending, 0), &m).urls,
            None
        );
        let rejected = PhotoView::new(photo("p3", PhotoStatus::Rejected, 0), &m);
        assert_eq!(rejected.urls, None);
        let json = serde_json::to_value(&rejected).expect("json");
        assert!(json.get("urls").is_none(), "{json}");
        assert_eq!(json["reason"], "flagged", "the photo's own fields stay");
    }

    #[test]
    fn segments_are_percent_encoded_and_bad_bases_refused() {
        assert_eq!(
            media().url("a b/é#?/x.jpg"),
            "https://d111111abcdef8.cloudfront.net/a%20b/%C3%A9%23%3F/x.jpg"
        );
        assert!(Media::new("http://127.0.0.1:8788").is_ok());
        for bad in [
            "",
            "cdn.example.com",
            "https://",
            "ftp://x",
            "https://x/?a=1",
        ] {
            assert!(Media::new(bad).is_err(), "{bad:?}");
        }
    }
}
