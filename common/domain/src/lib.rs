//! EcoBid's domain: entities, states, events and the rules between them (see `shared/DOMAIN.md`).
//!
//! This crate never sees the AWS SDK, Lambda or HTTP types: the crate boundary makes the compiler enforce
//! that (`cargo tree -p domain` lists no `aws-*`). Adapters live in `infra`.

pub mod error;
pub mod event;
mod events;
pub mod geo;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod queue;
pub mod rules;
pub mod service;
pub mod store;
