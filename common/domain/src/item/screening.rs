//! Text screening of listings (the seeds' text moderation): a new or edited title and description are read by
//! a toxicity model (Amazon Comprehend `DetectToxicContent` in AWS); a listing read as toxic is flagged
//! (hidden from browse, search and its page, the seller told why) and an edit read as clean lifts the flag.
//! Pure: what to send ([`segments`], within the model's limits), what its scores mean ([`verdict`]) and what
//! the listing becomes ([`screened`]).

use chrono::{DateTime, Utc};

use super::{Item, Moderation, ModerationAction};
use crate::event::DomainEvent;

/// The model's limits (DetectToxicContent): at most 10 segments of at most 1 KB each (read as 1,000 bytes,
/// the stricter reading), 10 KB in all.
pub const MAX_SEGMENTS: usize = 10;
pub const SEGMENT_BYTES: usize = 1_000;

/// A segment is toxic from this toxicity score on (the model scores 0 to 1).
pub const TOXIC_FROM: f64 = 0.5;

/// What the model says of one segment: its toxicity and the labels it saw, with their scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxicity {
    pub score: f64,
    /// e.g. `("INSULT", 0.93)`.
    pub labels: Vec<(String, f64)>,
}

/// The listing whose text an event brought in or changed (posted; edited in its title or description), which
/// is so screened again.
pub fn text_of(event: &DomainEvent) -> Option<&str> {
    match event {
        DomainEvent::ItemCreated(e) => Some(&e.item_id),
        DomainEvent::ItemUpdated(e)
            if e.changed.iter().any(|f| f == "title" || f == "description") =>
        {
            Some(&e.item_id)
        }
        _ => None,
    }
}

/// The texts to screen: the title, then the description cut into segments of at most [`SEGMENT_BYTES`] on
/// character boundaries (at a space where one is near). A title is at most 120 characters and a description
/// 2,000, so at most 480 + 8,000 bytes: 9 segments, within the model's limits.
pub fn segments(item: &Item) -> Vec<String> {
    let mut out = vec![item.title.clone()];
    let mut rest = item.description.trim();
    while !rest.is_empty() {
        let mut end = rest.len().min(SEGMENT_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end < rest.len() {
            // Cut at the last space of the segment's second half, so a word stays whole.
            if let Some(space) = rest[..end].rfind(' ').filter(|&i| i > end / 2) {
                end = space;
            }
        }
        out.push(rest[..end].to_owned());
        rest = rest[end..].trim_start();
    }
    out
}

/// Why the listing is flagged, when a segment's toxicity reaches [`TOXIC_FROM`]: the label the model was surest
/// of, worded for the seller. `None`: the text reads as clean.
pub fn verdict(results: &[Toxicity]) -> Option<String> {
    let toxic = results
        .iter()
        .filter(|r| r.score >= TOXIC_FROM)
        .max_by(|a, b| a.score.total_cmp(&b.score))?;
    let label = toxic
        .labels
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name.to_lowercase().replace('_', " "))
        .unwrap_or_else(|| "toxic".into());
    Some(format!(
        "the title or description reads as {label}; edit it to list the item again"
    ))
}

/// The listing after a screening of its current text: flagged (with `reason`), or cleared of a flag, or
/// `None` when nothing changes (the verdict stands, or a moderator took it down: that is for good).
pub fn screened(item: &Item, reason: Option<String>, now: DateTime<Utc>) -> Option<Item> {
    let current = item.moderation.as_ref().map(|m| m.action);
    let next = match (current, reason) {
        (Some(ModerationAction::TakenDown), _) => return None,
        (None, Some(reason)) => Some(Moderation {
            action: ModerationAction::Flagged,
            reason,
            at: now,
        }),
        (Some(ModerationAction::Flagged), None) => None,
        _ => return None,
    };
    let mut item = item.clone();
    item.moderation = next;
    Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ItemMode;
    use crate::testing::{item, now};

    fn toxicity(score: f64, labels: &[(&str, f64)]) -> Toxicity {
        Toxicity {
            score,
            labels: labels.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
        }
    }

    #[test]
    fn the_longest_text_fits_the_models_limits_in_whole_words() {
        let mut listing = item(ItemMode::Free);
        listing.title = "é".repeat(120);
        listing.description = "𝄞".repeat(2000);
        let parts = segments(&listing);
        assert!(parts.len() <= MAX_SEGMENTS, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= SEGMENT_BYTES));
        assert!(parts.iter().map(String::len).sum::<usize>() <= MAX_SEGMENTS * SEGMENT_BYTES);
        assert_eq!(parts[1..].concat(), listing.description, "nothing lost");

        listing.description = "word ".repeat(400);
        let parts = segments(&listing);
        assert!(parts[1..]
            .iter()
            .all(|p| p.split(' ').all(|w| w.is_empty() || w == "word")));
        listing.description = String::new();
        assert_eq!(segments(&listing), vec![listing.title.clone()]);
    }

    #[test]
    fn a_post_and_an_edit_of_its_words_are_screened_a_new_category_is_not() {
        let edit = |changed: &[&str]| {
            DomainEvent::from(crate::event::ItemUpdated {
                item_id: "i1".into(),
                seller_id: "s".into(),
                title: "t".into(),
                description: String::new(),
                category: "books".into(),
                changed: changed.iter().map(|c| c.to_string()).collect(),
            })
        };
        assert_eq!(text_of(&edit(&["category", "description"])), Some("i1"));
        assert_eq!(text_of(&edit(&["category"])), None);
        let deleted = DomainEvent::from(crate::event::ItemDeleted {
            item_id: "i1".into(),
            seller_id: "s".into(),
        });
        assert_eq!(text_of(&deleted), None);
    }

    #[test]
    fn a_segment_from_the_threshold_on_is_toxic_and_named_by_its_surest_label() {
        assert_eq!(verdict(&[toxicity(0.2, &[("PROFANITY", 0.3)])]), None);
        assert_eq!(verdict(&[]), None);
        let why = verdict(&[
            toxicity(0.1, &[]),
            toxicity(0.9, &[("PROFANITY", 0.4), ("HATE_SPEECH", 0.88)]),
        ])
        .expect("toxic");
        assert!(why.contains("hate speech"), "{why}");
        assert!(verdict(&[toxicity(TOXIC_FROM, &[])]).is_some());
    }

    #[test]
    fn a_toxic_listing_is_flagged_a_clean_edit_lifts_it_and_a_takedown_stays() {
        let listing = item(ItemMode::Free);
        assert_eq!(screened(&listing, None, now()), None, "clean stays listed");
        let flagged = screened(&listing, Some("insult".into()), now()).expect("flagged");
        assert_eq!(
            flagged.moderation.as_ref().map(|m| m.action),
            Some(ModerationAction::Flagged)
        );
        assert!(!flagged.is_shown());
        assert_eq!(screened(&flagged, Some("insult".into()), now()), None);
        let cleared = screened(&flagged, None, now()).expect("cleared");
        assert!(cleared.is_shown());
        let down = crate::item::take_down(&listing, "spam", now())
            .unwrap()
            .unwrap();
        assert_eq!(screened(&down, None, now()), None);
        assert_eq!(screened(&down, Some("insult".into()), now()), None);
    }
}
