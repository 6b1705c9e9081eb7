//! Users: the caller's profile, their push devices, and ratings between the parties of a deal.

use super::{Ctx, Result, Service};
use crate::error::{Conflict, DomainError};
use crate::event as ev;
use crate::ids;
use crate::profile::{self, Device, ProfileUpdate, UserProfile};
use crate::rating::{self, NewRating, Rating};
use crate::store::*;

impl Service {
    /// The caller's profile (an empty one until they set something or a deal moved their stats).
    pub async fn profile(&self, user_id: &str) -> Result<UserProfile> {
        Ok(self
            .store
            .profile(user_id)
            .await?
            .unwrap_or_else(|| UserProfile {
                id: user_id.to_owned(),
                ..UserProfile::default()
            }))
    }

    pub async fn update_profile(&self, ctx: &Ctx, input: &ProfileUpdate) -> Result<UserProfile> {
        let (display_name, home) = profile::profile_update(input)?;
        self.store
            .commit(Change {
                writes: vec![Write::Profile {
                    user_id: ctx.caller.clone(),
                    display_name,
                    home,
                }],
                events: vec![],
            })
            .await?;
        self.profile(&ctx.caller).await
    }

    pub async fn register_device(&self, ctx: &Ctx, device: Device) -> Result<Device> {
        self.store
            .commit(Change {
                writes: vec![Write::Device {
                    user_id: ctx.caller.clone(),
                    device: device.clone(),
                }],
                events: vec![],
            })
            .await?;
        Ok(device)
    }

    /// One party of a completed deal rates the other, once.
    pub async fn rate(&self, ctx: &Ctx, ratee_id: &str, input: &NewRating) -> Result<Rating> {
        let deal: rating::Deal = if ids::reservation_item(&input.about).is_some() {
            (&self.reservation(&input.about).await?.value).into()
        } else if ids::is_id(&input.about) {
            (&self.auction(&input.about).await?.value).into()
        } else {
            return Err(DomainError::NotFound("deal").into());
        };
        let rating = rating::rate(&deal, &ctx.caller, ratee_id, input, ctx.now)?;
        let event = self.envelope(
            ctx,
            ev::UserRated {
                rater_id: rating.rater_id.clone(),
                ratee_id: rating.ratee_id.clone(),
                about: rating.about.clone(),
                stars: rating.stars,
            },
        );
        let written = self
            .store
            .commit(Change {
                writes: vec![
                    Write::Rating(rating.clone()),
                    Write::AddRating {
                        user_id: rating.ratee_id.clone(),
                        stars: rating.stars,
                    },
                ],
                events: vec![event],
            })
            .await;
        match written {
            Err(StoreError::ConditionFailed) => Err(DomainError::conflict(
                Conflict::AlreadyRated,
                "you already rated this user for this deal",
            )
            .into()),
            other => Ok(other.map(|()| rating)?),
        }
    }
}
