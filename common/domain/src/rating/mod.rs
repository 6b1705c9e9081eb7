//! The rating aggregate: one party of a completed deal rates the other, 1 to 5 stars, once per deal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::auction::{Auction, AuctionStatus};
use crate::error::{Conflict, DomainError, Unprocessable, Validator};
use crate::reservation::{Reservation, ReservationStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    pub rater_id: String,
    pub ratee_id: String,
    /// The reservation or auction the rating is about.
    pub about: String,
    pub stars: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Rate the other party of a deal (`POST /users/{id}/ratings`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRating {
    /// The reservation or auction id of the deal.
    pub about: String,
    pub stars: u8,
    pub comment: Option<String>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A finished deal as ratings see it: who took part and whether it completed.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub about: String,
    pub seller_id: String,
    /// The buyer or the auction's winner, if any.
    pub buyer_id: Option<String>,
    pub completed: bool,
}

impl From<&Reservation> for Deal {
    fn from(r: &Reservation) -> Self {
        Deal {
            about: r.id.clone(),
            seller_id: r.seller_id.clone(),
            buyer_id: Some(r.buyer_id.clone()),
            completed: r.status == ReservationStatus::Completed,
        }
    }
}

impl From<&Auction> for Deal {
    fn from(a: &Auction) -> Self {
        Deal {
            about: a.id.clone(),
            seller_id: a.seller_id.clone(),
            buyer_id: a.leader_id.clone(),
            completed: a.status == AuctionStatus::Closed && a.leader_id.is_some(),
        }
    }
}

/// One party of a completed deal rates the other (once: the store refuses a second rating).
pub fn rate(
    deal: &Deal,
    rater_id: &str,
    ratee_id: &str,
    input: &NewRating,
    now: DateTime<Utc>,
) -> Result<Rating, DomainError> {
    let mut v = Validator::default();
    v.check((1..=5).contains(&input.stars), "stars", "must be 1 to 5")
        .check(
            input.comment.as_deref().map_or(0, chars) <= 500,
            "comment",
            "must be at most 500 characters",
        );
    v.finish()?;
    if rater_id == ratee_id {
        return Err(DomainError::unprocessable(
            Unprocessable::RateSelf,
            "you cannot rate yourself",
        ));
    }
    let buyer = deal.buyer_id.as_deref();
    let parties = [Some(deal.seller_id.as_str()), buyer];
    if !parties.contains(&Some(rater_id)) {
        return Err(DomainError::Forbidden(
            "only a party of the deal may rate it".into(),
        ));
    }
    if !parties.contains(&Some(ratee_id)) {
        return Err(DomainError::Forbidden(
            "the rated user is not the other party of this deal".into(),
        ));
    }
    if !deal.completed {
        return Err(DomainError::conflict(
            Conflict::DealNotCompleted,
            "a deal can be rated once it completed",
        ));
    }
    Ok(Rating {
        rater_id: rater_id.to_owned(),
        ratee_id: ratee_id.to_owned(),
        about: deal.about.clone(),
        stars: input.stars,
        comment: input.comment.clone().filter(|c| !c.trim().is_empty()),
        created_at: now,
    })
}

#[cfg(test)]
mod tests;
