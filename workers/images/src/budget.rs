//! The memory the image work of one process may hold at once. Each photo holds what its header says its
//! thumbnails will need ([`crate::thumbs::memory_needed`]) for as long as they are made; a photo that does
//! not fit waits for others to finish. So a batch of huge-when-decoded files is worked through one or a few
//! at a time instead of all at once, and the function never runs out of memory whatever a batch holds.

use std::sync::Arc;

use infra::config::ConfigError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const MIB: u64 = 1024 * 1024;

/// What the process needs besides the image work: the binary, the async runtime, the SDK clients and
/// their connection pools (measured at ~25 MB: the rest is headroom).
pub const PROCESS_RESERVE_MB: u32 = 64;

/// The memory image work may use, in whole MiB (a semaphore's permits).
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
}

/// A photo's share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Held {
    _permit: OwnedSemaphorePermit,
}

/// A photo that needs more than the whole budget: it can never be made in this function, whatever else runs
/// (its memory is to be raised; the message is kept, as a dead letter, for the redrive after).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the photo needs {needed_mib} MiB to process, over the function's image memory budget of {budget_mib} MiB (raise its memory_mb, then redrive)")]
pub struct OverBudget {
    pub needed_mib: u64,
    pub budget_mib: u32,
}

impl MemoryBudget {
    pub fn new(total_mib: u32) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
        }
    }

    /// The budget of a function of `memory_mb` (Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) working on up to
    /// `files_in_flight` uploads at once, each read whole (at most `max_file_bytes`) before its work starts:
    /// what is left once the process and those files have their share.
    pub fn for_function(
        memory_mb: u32,
        files_in_flight: u32,
        max_file_bytes: u64,
    ) -> Result<Self, ConfigError> {
        let files_mib = u64::from(files_in_flight) * max_file_bytes.div_ceil(MIB);
        let left = u64::from(memory_mb)
            .checked_sub(u64::from(PROCESS_RESERVE_MB) + files_mib)
            .filter(|left| *left > 0)
            .ok_or_else(|| ConfigError::Invalid {
                name: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                value: memory_mb.to_string(),
                reason: format!(
                    "leaves no memory for image work after {PROCESS_RESERVE_MB} MB for the process and \
                     {files_mib} MB for {files_in_flight} uploads in flight"
                ),
            })?;
        Ok(Self::new(u32::try_from(left).unwrap_or(u32::MAX)))
    }

    /// From the environment: `IMAGE_MEMORY_BUDGET_MB` if set (Terraform's `image_memory_budget_mb`), else
    /// [`for_function`](Self::for_function) of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, which Lambda sets.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        files_in_flight: u32,
        max_file_bytes: u64,
    ) -> Result<Self, ConfigError> {
        let number = |name: &'static str| -> Result<Option<u32>, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<u32>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(ConfigError::Invalid {
                        name,
                        value: v,
                        reason: "not a whole number of MB above 0".into(),
                    }),
                },
            }
        };
        if let Some(explicit) = number("IMAGE_MEMORY_BUDGET_MB")? {
            return Ok(Self::new(explicit));
        }
        let memory = number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?
            .ok_or(ConfigError::Missing("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))?;
        Self::for_function(memory, files_in_flight, max_file_bytes)
    }

    pub fn total_mib(&self) -> u32 {
        self.total_mib
    }

    /// Waits until `bytes` of the budget are free and holds them.
    pub async fn hold(&self, bytes: u64) -> Result<Held, OverBudget> {
        let needed_mib = bytes.div_ceil(MIB).max(1);
        if needed_mib > u64::from(self.total_mib) {
            return Err(OverBudget {
                needed_mib,
                budget_mib: self.total_mib,
            });
        }
        // Within total_mib, so within u32.
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(needed_mib as u32)
            .await
            .expect("the budget's semaphore is never closed");
        Ok(Held { _permit: permit })
    }

    /// MiB free now.
    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_function_s_budget_is_its_memory_less_the_process_and_the_files_in_flight() {
        let budget = MemoryBudget::for_function(1024, 5, 16 * MIB).expect("budget");
        assert_eq!(budget.total_mib(), 1024 - 64 - 5 * 16);
        let err = MemoryBudget::for_function(128, 5, 16 * MIB).unwrap_err();
        assert!(
            err.to_string()
                .contains("leaves no memory for image work after 64 MB for the process and 80 MB for 5 uploads"),
            "{err}"
        );
    }

    #[test]
    fn the_environment_sets_the_budget_or_lambda_s_memory_size_does() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let derived = MemoryBudget::from_lookup(
            env(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")]),
            5,
            16 * MIB,
        );
        assert_eq!(derived.expect("budget").total_mib(), 880);
        let explicit = MemoryBudget::from_lookup(
            env(&[
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
                ("IMAGE_MEMORY_BUDGET_MB", "300"),
            ]),
            5,
            16 * MIB,
        );
        assert_eq!(explicit.expect("budget").total_mib(), 300);
        let missing = MemoryBudget::from_lookup(env(&[]), 5, 16 * MIB).unwrap_err();
        assert_eq!(
            missing,
            ConfigError::Missing("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        );
        let bad =
            MemoryBudget::from_lookup(env(&[("IMAGE_MEMORY_BUDGET_MB", "lots")]), 5, 16 * MIB)
                .unwrap_err();
        assert!(
            bad.to_string()
                .contains("IMAGE_MEMORY_BUDGET_MB is \"lots\""),
            "{bad}"
        );
    }

    #[tokio::test]
    async fn a_photo_waits_until_its_share_is_free_and_gives_it_back_when_done() {
        let budget = MemoryBudget::new(100);
        let first = budget.hold(70 * MIB).await.expect("fits");
        assert_eq!(budget.available_mib(), 30);
        // 40 MiB do not fit beside the first 70.
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.hold(40 * MIB).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "it must wait for the first");
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("it runs once the first is done")
            .expect("task")
            .expect("fits");
        assert_eq!(budget.available_mib(), 100);
    }

    #[tokio::test]
    async fn a_photo_over_the_whole_budget_is_refused_at_once_and_small_ones_hold_a_mib() {
        let budget = MemoryBudget::new(100);
        assert_eq!(
            budget.hold(101 * MIB).await.unwrap_err(),
            OverBudget {
                needed_mib: 101,
                budget_mib: 100
            }
        );
        let _small = budget.hold(10).await.expect("fits");
        assert_eq!(budget.available_mib(), 99);
    }
}
