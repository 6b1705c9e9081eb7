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
}

impl Conflict {
    pub fn code(self) -> &'static str {
        match self {
            Conflict::ItemNotAvailable => "item-not-available",
            Conflict::ReservationState => "reservation-state",
            Conflict::AuctionClosed => "auction-closed",
            Conflict::AuctionEnded => "auction-ended",
            Conflict::BidTooLow => "bid-too-low",
            Conflict::AlreadyRated => "already-rated",
            Conflict::DealNotCompleted => "deal-not-completed",
            Conflict::Contention => "contention",
            Conflict::RequestInProgress => "request-in-progress",
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
