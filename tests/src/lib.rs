//! Checks of EcoBid's infrastructure and the helpers end-to-end suites share.
//!
//! - [`budget`]: each queue's retry budget (the outage its messages survive) read from a plan.
//! - [`plan`]: the JSON of `terraform show -json <plan>`, flattened to its resources.
//! - [`policy`]: the rules every workspace's plan must follow, each a pure function returning violations, so
//!   they are unit-tested against doctored plans (a check that cannot fail is no check).
//! - [`terraform`]: runs terraform against the stack scripts/test brought up.
//! - [`faults`]: the local stack's fault injection, owned by the test that injects.

pub mod budget;
pub mod faults;
pub mod plan;
pub mod policy;
pub mod terraform;

/// The repository's root, found when the test runs (cargo sets `CARGO_MANIFEST_DIR` for the tests it runs).
///
/// Not `env!`: a test binary reused from a shared build cache keeps the path of the clone it was built in,
/// which may be gone.
pub fn repo_root() -> std::path::PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .expect("CARGO_MANIFEST_DIR (set by cargo test) names the tests crate");
    std::path::PathBuf::from(manifest).join("..")
}
