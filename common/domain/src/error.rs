//! Why the domain refuses something: each kind maps to one HTTP status class in the API, each refusal carries a
//! stable code (the problem `type`) and a human detail.

use std::fmt;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer-ish path of the field (`title`, `location.lat`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The reasons a state change is refused (409): stable codes clients may switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    /// The item is not AVAILABLE (reserved, in auction, taken, expired).
    ItemNotAvailable,
    /// The listing was reserved or bid on: its text and category stay as the other party saw them.
    ItemNotEditable,
    /// The reservation is not in a state this action applies to.
    ReservationState,
    AuctionClosed,
    AuctionEnded,
    BidTooLow,
    AlreadyRated,
    DealNotCompleted,
    /// The request raced with another change too often; retrying it is safe.
    Contention,
    /// The Idempotency-Key is being used by a request still in flight.
    RequestInProgress,
    /// The account has deals under way (an active reservation, a leading bid, an open auction).
    AccountInUse,
}

impl Conflict {
    pub fn code(self) -> &'static str {
        match self {
            Conflict::ItemNotAvailable => "item-not-available",
            Conflict::ItemNotEditable => "item-not-editable",
            Conflict::ReservationState => "reservation-state",
            Conflict::AuctionClosed => "auction-closed",
            Conflict::AuctionEnded => "auction-ended",
            Conflict::BidTooLow => "bid-too-low",
            Conflict::AlreadyRated => "already-rated",
            Conflict::DealNotCompleted => "deal-not-completed",
            Conflict::Contention => "contention",
            Conflict::RequestInProgress => "request-in-progress",
            Conflict::AccountInUse => "account-in-use",
        }
    }
}

/// Refusals that are the caller's own doing but fit no state conflict (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unprocessable {
    OwnItem,
    OwnAuction,
    NotAuctionItem,
    NotFreeItem,
    TooManyPhotos,
    RateSelf,
    IdempotencyKeyReused,
    /// A device of a platform this deployment has no push credentials for.
    PushPlatformUnavailable,
    /// An auction shorter than the deployment's shortest.
    AuctionTooShort,
    /// A push token the push service refused.
    InvalidPushToken,
}

impl Unprocessable {
    pub fn code(self) -> &'static str {
        match self {
            Unprocessable::OwnItem => "own-item",
            Unprocessable::OwnAuction => "own-auction",
            Unprocessable::NotAuctionItem => "not-an-auction-item",
            Unprocessable::NotFreeItem => "not-a-free-item",
            Unprocessable::TooManyPhotos => "too-many-photos",
            Unprocessable::RateSelf => "rate-self",
            Unprocessable::IdempotencyKeyReused => "idempotency-key-reused",
            Unprocessable::PushPlatformUnavailable => "push-platform-unavailable",
            Unprocessable::AuctionTooShort => "auction-too-short",
            Unprocessable::InvalidPushToken => "invalid-push-token",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request does not pass validation (400), per field.
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// No such thing (404): names what was looked for.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is not a party to it (403).
    #[error("{0}")]
    Forbidden(String),
    /// The current state refuses the change (409).
    #[error("{1}")]
    Conflict(Conflict, String),
    #[error("{1}")]
    Unprocessable(Unprocessable, String),
    /// The record moved on since the version the caller read (412: read it again, then decide).
    #[error("{0}")]
    Stale(String),
    /// The caller's account was deleted: their token, still unexpired, is refused (401).
    #[error("this account was deleted")]
    AccountDeleted,
    /// A moderator suspended the caller's account: every request of theirs is refused (403).
    #[error("this account is suspended by a moderator; the notice sent to you says why")]
    AccountSuspended,
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn conflict(reason: Conflict, detail: impl fmt::Display) -> Self {
        DomainError::Conflict(reason, detail.to_string())
    }

    pub fn unprocessable(reason: Unprocessable, detail: impl fmt::Display) -> Self {
        DomainError::Unprocessable(reason, detail.to_string())
    }
}

/// Why the store (the `store::Store` port and the other ports on the same storage) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A write's expectation did not hold: the state changed since it was read (or a new record exists).
    #[error("a write's condition failed: the state changed since it was read")]
    ConditionFailed,
    /// The store asks to slow down.
    #[error("the store is throttling requests")]
    Throttled,
    /// The store failed; `transient` says whether the same call may succeed later (a timeout, a 5xx) or
    /// will fail the same way (a missing permission, a request it refuses).
    #[error("the store failed: {detail}")]
    Unavailable { transient: bool, detail: String },
}

impl StoreError {
    /// A failure that will not go away by trying again (a bug, a missing permission, bad data).
    pub fn permanent(detail: impl Into<String>) -> Self {
        StoreError::Unavailable {
            transient: false,
            detail: detail.into(),
        }
    }

    /// A failure the same call may get past later.
    pub fn transient(detail: impl Into<String>) -> Self {
        StoreError::Unavailable {
            transient: true,
            detail: detail.into(),
        }
    }

    /// Whether trying the same call again later can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::ConditionFailed | StoreError::Throttled => true,
            StoreError::Unavailable { transient, .. } => *transient,
        }
    }
}

/// Collects field errors of one request, then fails with all of them at once.
#[derive(Debug, Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) -> &mut Self {
        if !ok {
            self.0.push(FieldError::new(field, message));
        }
        self
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}

/// The characters a short text (a title, a name) may not consist of only, and that are trimmed off it: the
/// document's `pattern` for such a text says "one character not among these" in the same four, so a
/// schema-driven client and the API agree on what is blank whatever their regex engines call whitespace.
pub const BLANK: &[char] = &[' ', '\t', '\n', '\r'];

/// A short text of 1 to `max` characters as given (the document's `maxLength` counts the raw text), not
/// blank; trimmed of [`BLANK`] for keeping.
pub fn short_text(v: &mut Validator, raw: &str, max: usize, field: &str) -> String {
    v.check(
        (1..=max).contains(&raw.chars().count()) && raw.contains(|c| !BLANK.contains(&c)),
        field,
        format!("must be 1 to {max} characters, not all blank"),
    );
    raw.trim_matches(BLANK).to_owned()
}

/// An error and its causes on one line (`a: b: c`), each cause once (one whose text the line already holds is
/// skipped: SDK errors repeat their source's text), line breaks as spaces. The one formatter of a cause chain:
/// for logs, dead letters and the ops CLI's messages, never for API responses.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    #[test]
    fn a_chain_names_each_cause_once_on_one_line() {
        let root = Layer {
            text: "NoSuchBucket: The specified\nbucket does not exist",
            source: None,
        };
        let sdk = Layer {
            text: "service error",
            source: Some(Box::new(root)),
        };
        let ours = Layer {
            text: "permanent: service error",
            source: Some(Box::new(sdk)),
        };
        assert_eq!(
            chain(&ours),
            "permanent: service error: NoSuchBucket: The specified bucket does not exist"
        );
    }
}
