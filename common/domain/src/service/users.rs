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

    /// Sets what `input` names; preferences not named keep their stored value.
    pub async fn update_profile(&self, ctx: &Ctx, input: &ProfileUpdate) -> Result<UserProfile> {
        let (display_name, home) = profile::profile_update(input)?;
        let notifications = if input.notifications.is_empty() {
            None
        } else {
            let stored = self.profile(&ctx.caller).await?.notifications;
            Some(stored.with(&input.notifications))
        };
        self.store
            .commit(Change {
                writes: vec![Write::Profile {
                    user_id: ctx.caller.clone(),
                    display_name,
                    home,
                    email: None,
                    notifications,
                }],
                events: vec![],
            })
            .await?;
        self.profile(&ctx.caller).await
    }

    /// The caller's profile, keeping on it the email address their identity provider verified (where email
    /// notices go): written only when new or changed, so a read stays a read.
    pub async fn profile_with_email(
        &self,
        ctx: &Ctx,
        verified_email: Option<&str>,
    ) -> Result<UserProfile> {
        let stored = self.store.profile(&ctx.caller).await?;
        let email =
            verified_email.filter(|e| stored.as_ref().and_then(|p| p.email.as_deref()) != Some(*e));
        if let (Some(profile), None) = (&stored, email) {
            return Ok(profile.clone());
        }
        // The first call of a new user keeps their profile (its "member since"), with the address if any.
        self.store
            .commit(Change {
                writes: vec![Write::Profile {
                    user_id: ctx.caller.clone(),
                    display_name: None,
                    home: None,
                    email: email.map(str::to_owned),
                    notifications: None,
                }],
                events: vec![],
            })
            .await?;
        self.profile(&ctx.caller).await
    }

    /// Registers (or refreshes) a device of the caller; `previous_owner` is the user the push service still
    /// had the token registered to (the same phone signed in with another account), who loses it.
    pub async fn register_device(
        &self,
        ctx: &Ctx,
        device: Device,
        previous_owner: Option<&str>,
    ) -> Result<Device> {
        let mut writes = vec![];
        if let Some(previous) = previous_owner.filter(|p| *p != ctx.caller) {
            writes.push(Write::RemoveDevice {
                user_id: previous.to_owned(),
                token_hash: device.token_hash.clone(),
            });
        }
        writes.push(Write::Device {
            user_id: ctx.caller.clone(),
            device: device.clone(),
        });
        self.store
            .commit(Change {
                writes,
                events: vec![],
            })
            .await?;
        Ok(device)
    }

    /// The caller's devices.
    pub async fn devices(&self, user_id: &str) -> Result<Vec<Device>> {
        Ok(self.store.devices(user_id).await?)
    }

    /// Forgets one of the caller's devices; answers it (its endpoint is for the caller to delete).
    pub async fn unregister_device(&self, ctx: &Ctx, token_hash: &str) -> Result<Device> {
        let device = self
            .devices(&ctx.caller)
            .await?
            .into_iter()
            .find(|d| d.token_hash == token_hash)
            .ok_or(DomainError::NotFound("device"))?;
        self.store
            .commit(Change {
                writes: vec![Write::RemoveDevice {
                    user_id: ctx.caller.clone(),
                    token_hash: token_hash.to_owned(),
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
