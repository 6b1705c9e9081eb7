//! EcoBid's adapters: what the domain needs from the outside world (configuration, AWS adapters), the worker
//! runtime every SQS worker runs on and its Lambda glue.

pub mod aws_error;
pub mod backoff;
pub mod config;
pub mod error;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod idempotency;
pub mod lambda;
pub mod lease;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod runtime;
pub mod scheduler;
pub mod sqs;
pub mod store;
pub mod telemetry;
