//! The wording of notices: one template per kind of notice (`templates/<locale>/<kind>.txt` for push and the
//! plain-text email, `.html` for the HTML email, which extends `layout.html`), rendered by minijinja with HTML
//! escaping in the `.html` ones. Each `.txt` has a `subject` and a `body` block. Only `en` exists: a locale is
//! a directory beside it, picked by the recipient's language once profiles carry one.

use domain::notify::Notice;
use infra::notify::Rendered;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment};

/// The locale every notice is worded in today.
pub const LOCALE: &str = "en";

macro_rules! templates {
    ($($kind:literal),* $(,)?) => {
        &[
            ("en/layout.html", include_str!("../templates/en/layout.html")),
            $(
                (concat!("en/", $kind, ".txt"), include_str!(concat!("../templates/en/", $kind, ".txt"))),
                (concat!("en/", $kind, ".html"), include_str!(concat!("../templates/en/", $kind, ".html"))),
            )*
        ]
    };
}

/// Every template, compiled into the binary (a Lambda reads no files it was not given).
const SOURCES: &[(&str, &str)] = templates!(
    "new_near_you",
    "listing_expired",
    "item_reserved",
    "pickup_confirmed",
    "pickup_reminder",
    "reservation_cancelled",
    "reservation_expired",
    "outbid",
    "auction_won",
    "auction_sold",
    "auction_unsold",
    "auction_lost",
    "photo_rejected",
    "rated",
    "listing_taken_down",
    "listing_flagged",
    "account_suspended",
    "account_reinstated",
    "generic",
);

/// The templates, parsed once per cold start.
pub struct Templates {
    env: Environment<'static>,
}

/// A template that does not exist or does not render: a defect of this worker, never of the message.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct TemplateError {
    name: String,
    #[source]
    source: minijinja::Error,
}

impl Templates {
    pub fn new() -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in SOURCES {
            env.add_template(name, source)
                .map_err(|source| TemplateError {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        Ok(Self { env })
    }

    /// The names of the notice kinds there is a template for.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        SOURCES
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("en/")?.strip_suffix(".txt"))
    }

    /// Words `notice` (about `event_id`, of `correlation_id`) for push and email.
    pub fn render(
        &self,
        notice: &Notice,
        event_id: &str,
        correlation_id: &str,
    ) -> Result<Rendered, TemplateError> {
        let facts = Value::from(Serde(&notice.facts));
        let error = |name: &str| {
            let name = name.to_owned();
            move |source| TemplateError { name, source }
        };
        let text_name = format!("{LOCALE}/{}.txt", notice.template);
        let html_name = format!("{LOCALE}/{}.html", notice.template);
        let text = self
            .env
            .get_template(&text_name)
            .map_err(error(&text_name))?;
        let mut captured = text
            .render_captured(facts.clone())
            .map_err(error(&text_name))?;
        let subject = captured
            .with_state_mut(|state| state.render_block("subject"))
            .map_err(error(&text_name))?;
        let body = captured
            .with_state_mut(|state| state.render_block("body"))
            .map_err(error(&text_name))?;
        let html = self
            .env
            .get_template(&html_name)
            .and_then(|t| t.render(facts))
            .map_err(error(&html_name))?;
        Ok(Rendered {
            subject: subject.trim().to_owned(),
            text: body.trim().to_owned(),
            html,
            recipient_id: notice.recipient_id.clone(),
            event_id: event_id.to_owned(),
            event_type: notice.event_type.to_owned(),
            correlation_id: correlation_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn notice(template: &'static str) -> Notice {
        Notice {
            recipient_id: "ann".into(),
            event_type: "ItemCreated",
            template,
            facts: json!({
                "title": "Oak <b>table</b> & chairs", "category": "furniture", "itemId": "i1",
                "amount": "12.50", "pickupAt": "2026-12-02T18:00:00+00:00", "expiresAt": "2026-12-03T10:00:00+00:00",
                "reason": "not a photo", "stars": 5, "byYou": false, "youCollect": true,
                "reservationId": "r1", "auctionId": "a1",
            }),
        }
    }

    #[test]
    fn every_kind_renders_a_subject_a_text_and_an_escaped_html() {
        let templates = Templates::new().expect("templates parse");
        let kinds: Vec<&str> = Templates::kinds().collect();
        assert_eq!(kinds.len(), 19);
        for kind in kinds {
            let kind: &'static str = Box::leak(kind.to_owned().into_boxed_str());
            let r = templates.render(&notice(kind), "e1", "c1").expect(kind);
            assert!(!r.subject.is_empty() && !r.text.is_empty(), "{kind}");
            assert!(!r.text.contains("{{") && !r.html.contains("{{"), "{kind}");
            assert!(r.html.starts_with("<!doctype html>"), "{kind}");
            assert_eq!(
                (r.event_id.as_str(), r.recipient_id.as_str()),
                ("e1", "ann")
            );
        }
        let near = templates
            .render(&notice("new_near_you"), "e", "c")
            .expect("render");
        assert_eq!(near.subject, "New near you: Oak <b>table</b> & chairs");
        assert!(
            near.html
                .contains("<strong>Oak &lt;b&gt;table&lt;&#x2f;b&gt; &amp; chairs</strong>"),
            "{}",
            near.html
        );
        let reminder = templates
            .render(&notice("pickup_reminder"), "e", "c")
            .expect("render");
        assert_eq!(
            reminder.text,
            "Remember to collect your item at 2026-12-02T18:00:00+00:00."
        );
    }

    #[test]
    fn a_fact_a_template_needs_and_does_not_get_is_an_error_not_a_blank() {
        let templates = Templates::new().expect("templates parse");
        let mut n = notice("outbid");
        n.facts = json!({});
        assert!(templates.render(&n, "e", "c").is_err());
        n.template = "no_such_kind";
        assert!(templates.render(&n, "e", "c").is_err());
    }
}
