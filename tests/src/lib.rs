//! Checks of EcoBid's infrastructure and the helpers end-to-end suites share.
//!
//! - [`plan`]: the JSON of `terraform show -json <plan>`, flattened to its resources.
//! - [`policy`]: the rules every workspace's plan must follow, each a pure function returning violations, so
//!   they are unit-tested against doctored plans (a check that cannot fail is no check).
//! - [`terraform`]: runs terraform against the stack scripts/test brought up.

pub mod plan;
pub mod policy;
pub mod terraform;
