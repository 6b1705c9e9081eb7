//! Suites against the real local stack (moto server + terraform apply), run by scripts/test, which brings the
//! stack up, applies three workspaces side by side and exports where they are. What the suites share is in
//! [`support`]; a suite never uses another.

mod support;

mod activity;
mod api;
mod backbone;
mod infrastructure;
mod local_runner;
mod moderation;
mod notifications;
mod ops;
mod outages;
mod search;
mod workers;
mod zz_after_all;
