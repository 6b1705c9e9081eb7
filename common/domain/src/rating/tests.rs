use super::*;
use crate::item::ItemMode;
use crate::reservation::{complete, confirm, RESERVATION_TTL};
use crate::testing::{conflict, item, now, reserve};

#[test]
fn ratings_are_for_parties_of_completed_deals() {
    let item = item(ItemMode::Free);
    let (reserved, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    let rating = NewRating {
        about: r.id.clone(),
        stars: 5,
        comment: Some("On time".into()),
    };
    assert_eq!(
        conflict(rate(&Deal::from(&r), "buyer", "seller", &rating, now()).unwrap_err()),
        Conflict::DealNotCompleted
    );
    let confirmed = confirm(&r, "seller", None, now()).unwrap();
    let (done, _) = complete(&confirmed, &reserved, "seller", now()).unwrap();
    let deal = Deal::from(&done);
    let ok = rate(&deal, "buyer", "seller", &rating, now()).unwrap();
    assert_eq!((ok.stars, ok.about.as_str()), (5, r.id.as_str()));
    assert!(matches!(
        rate(&deal, "stranger", "seller", &rating, now()),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        rate(&deal, "buyer", "stranger", &rating, now()),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        rate(&deal, "buyer", "buyer", &rating, now()),
        Err(DomainError::Unprocessable(Unprocessable::RateSelf, _))
    ));
    let six = NewRating { stars: 6, ..rating };
    assert!(matches!(
        rate(&deal, "buyer", "seller", &six, now()),
        Err(DomainError::Invalid(_))
    ));
}
