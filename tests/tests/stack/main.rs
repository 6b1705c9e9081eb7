//! Suites against the real local stack (moto server + terraform apply), run by scripts/test, which brings the
//! stack up, applies two workspaces side by side and exports where they are.

mod api;
mod backbone;
mod helpers;
mod infrastructure;
mod local_runner;
mod observability;
mod ops;
mod probe;
mod workers;
