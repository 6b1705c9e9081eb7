//! Suites against the real local stack (moto server + terraform apply), run by scripts/test, which brings the
//! stack up, applies two workspaces side by side and exports where they are.

// The REST API suite (api.rs) is not run yet: on moto, accepted bids' BidPlaced events did not reach the bus
// while 96 of 100 concurrent bid transactions were cancelled (suspected: moto's rollback of a cancelled
// TransactWriteItems), and flow 2 saw UserRated twice; to be understood before it is enabled. Flow 1 passes.
mod backbone;
mod helpers;
mod infrastructure;
mod local_runner;
mod probe;
