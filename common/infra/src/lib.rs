//! EcoBid's adapters: what the domain needs from the outside world (configuration now; AWS adapters and the
//! worker runtime as the backbone lands).

pub mod aws_error;
pub mod backoff;
pub mod config;
pub mod idempotency;
pub mod runtime;
pub mod sqs;
