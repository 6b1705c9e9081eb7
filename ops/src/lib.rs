//! `ecobid-ops`: inspect, redrive and purge dead-letter queues and replay archived events, without losing a
//! message. The pure parts ([`letter`], [`dlq`]'s move order) are unit-tested; [`sqs`] and [`replay`] are the
//! thin SDK adapters; [`commands`] (one module per command) ties them to the command line ([`cli`]); every
//! failure is an [`error::OpsError`].

pub mod audit;
pub mod cli;
pub mod commands;
pub mod dlq;
pub mod error;
pub mod letter;
pub mod outbox;
pub mod replay;
pub mod sqs;
