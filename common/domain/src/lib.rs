//! EcoBid's domain: entities, states, events and the rules between them (DOMAIN.md), by aggregate.
//!
//! - [`item`] (with its [`item::photo`]s), [`reservation`], [`auction`] (and its bids), [`rating`],
//!   [`profile`]: each aggregate's types, its rules and its time-driven decisions, for every caller (the API
//!   and the workers alike);
//! - [`event`]: the versioned envelope and the event catalog; [`dead_letter`]: the contract of a message given
//!   up on; [`notify`]: who hears of what; [`schedule`]: steps that come due;
//! - [`service`]: the use-cases, orchestrating reads, decisions and conditional writes through the
//!   [`store::Store`] port; [`ids`]: ids, injected; [`geo`], [`queue`], [`error`].
//!
//! This crate never sees the AWS SDK, Lambda or HTTP types: the crate boundary makes the compiler enforce
//! that (`cargo tree -p domain` lists no `aws-*`). Adapters live in `infra`.

#[macro_use]
mod macros;

pub mod auction;
pub mod dead_letter;
pub mod error;
pub mod event;
pub mod geo;
pub mod ids;
pub mod item;
pub mod notify;
pub mod profile;
pub mod queue;
pub mod rating;
pub mod reservation;
pub mod schedule;
pub mod search;
pub mod service;
pub mod store;

#[cfg(test)]
mod testing;

#[cfg(feature = "fixtures")]
pub mod fixtures;
