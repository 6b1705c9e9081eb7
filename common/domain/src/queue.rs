//! The event queues and the retry policy each one's worker runs with.
//!
//! One typed policy per queue (STYLE.md §9): Terraform's `queues` variable sets the queue's redrive policy and
//! the event-source mapping, and hands the same numbers to the worker's environment, where
//! `infra::config` parses them into a [`QueuePolicy`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// SQS's longest visibility timeout: no backoff step can hide a message for longer.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// The queues domain events land in, each consumed by its own worker and backed by its own DLQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventQueue {
    Images,
    Notifications,
    Expiries,
    AuctionCloses,
}

impl EventQueue {
    pub const ALL: [EventQueue; 4] = [
        EventQueue::Images,
        EventQueue::Notifications,
        EventQueue::Expiries,
        EventQueue::AuctionCloses,
    ];

    /// The queue's key: the suffix of its name (`ecobid-<workspace>-<key>`) and its key in Terraform.
    pub fn key(self) -> &'static str {
        match self {
            EventQueue::Images => "images",
            EventQueue::Notifications => "notifications",
            EventQueue::Expiries => "expiries",
            EventQueue::AuctionCloses => "auction-closes",
        }
    }
}

impl fmt::Display for EventQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown event queue {0:?}: expected one of images, notifications, expiries, auction-closes"
)]
pub struct UnknownQueue(pub String);

impl FromStr for EventQueue {
    type Err = UnknownQueue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventQueue::ALL
            .into_iter()
            .find(|q| q.key() == s)
            .ok_or_else(|| UnknownQueue(s.to_owned()))
    }
}

/// How one queue's messages are retried and how many its worker takes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePolicy {
    max_receive_count: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    batch_size: u32,
    max_concurrency: u32,
}

/// Why a [`QueuePolicy`] was refused; each names the setting and the bound it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("max receive count {0} is outside 1..=1000")]
    MaxReceiveCount(u32),
    #[error("backoff base {base:?} must be at least 1 s and at most the backoff max {max:?}")]
    BackoffBase { base: Duration, max: Duration },
    #[error("backoff max {0:?} exceeds SQS's longest visibility timeout (12 h)")]
    BackoffMax(Duration),
    #[error("batch size {0} is outside 1..=10000")]
    BatchSize(u32),
    #[error("max concurrency {0} is outside 2..=1000")]
    MaxConcurrency(u32),
}

impl QueuePolicy {
    /// A policy within the bounds SQS and the event-source mapping accept (the same bounds Terraform validates).
    pub fn new(
        max_receive_count: u32,
        backoff_base: Duration,
        backoff_max: Duration,
        batch_size: u32,
        max_concurrency: u32,
    ) -> Result<Self, PolicyError> {
        if !(1..=1000).contains(&max_receive_count) {
            return Err(PolicyError::MaxReceiveCount(max_receive_count));
        }
        if backoff_max > MAX_VISIBILITY {
            return Err(PolicyError::BackoffMax(backoff_max));
        }
        if backoff_base < Duration::from_secs(1) || backoff_base > backoff_max {
            return Err(PolicyError::BackoffBase {
                base: backoff_base,
                max: backoff_max,
            });
        }
        if !(1..=10_000).contains(&batch_size) {
            return Err(PolicyError::BatchSize(batch_size));
        }
        if !(2..=1000).contains(&max_concurrency) {
            return Err(PolicyError::MaxConcurrency(max_concurrency));
        }
        Ok(Self {
            max_receive_count,
            backoff_base,
            backoff_max,
            batch_size,
            max_concurrency,
        })
    }

    /// Receives after which SQS moves a message to the DLQ (the redrive policy's backstop).
    pub fn max_receive_count(&self) -> u32 {
        self.max_receive_count
    }

    /// First step of the exponential backoff of transient failures.
    pub fn backoff_base(&self) -> Duration {
        self.backoff_base
    }

    /// Cap of the exponential backoff of transient failures.
    pub fn backoff_max(&self) -> Duration {
        self.backoff_max
    }

    /// Messages per invocation.
    pub fn batch_size(&self) -> u32 {
        self.batch_size
    }

    /// Concurrent invocations (the mapping's maximum concurrency).
    pub fn max_concurrency(&self) -> u32 {
        self.max_concurrency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn queue_keys_round_trip() {
        for q in EventQueue::ALL {
            assert_eq!(q.key().parse::<EventQueue>(), Ok(q));
        }
        assert_eq!("auction-closes".parse(), Ok(EventQueue::AuctionCloses));
    }

    #[test]
    fn unknown_queue_is_named() {
        let err = "thumbnails".parse::<EventQueue>().unwrap_err();
        assert!(err.to_string().contains("\"thumbnails\""), "{err}");
    }

    #[test]
    fn accepts_a_policy_within_bounds() {
        // GIVEN Terraform's defaults WHEN built THEN every value reads back
        let p = QueuePolicy::new(5, secs(2), secs(300), 10, 5).expect("valid");
        assert_eq!(
            (
                p.max_receive_count(),
                p.backoff_base(),
                p.backoff_max(),
                p.batch_size(),
                p.max_concurrency()
            ),
            (5, secs(2), secs(300), 10, 5)
        );
    }

    #[test]
    fn refuses_each_bound() {
        assert_eq!(
            QueuePolicy::new(0, secs(2), secs(300), 10, 5),
            Err(PolicyError::MaxReceiveCount(0))
        );
        assert_eq!(
            QueuePolicy::new(1001, secs(2), secs(300), 10, 5),
            Err(PolicyError::MaxReceiveCount(1001))
        );
        assert_eq!(
            QueuePolicy::new(5, secs(0), secs(300), 10, 5),
            Err(PolicyError::BackoffBase {
                base: secs(0),
                max: secs(300)
            })
        );
        assert_eq!(
            QueuePolicy::new(5, secs(301), secs(300), 10, 5),
            Err(PolicyError::BackoffBase {
                base: secs(301),
                max: secs(300)
            })
        );
        assert_eq!(
            QueuePolicy::new(5, secs(2), secs(43_201), 10, 5),
            Err(PolicyError::BackoffMax(secs(43_201)))
        );
        assert_eq!(
            QueuePolicy::new(5, secs(2), secs(300), 0, 5),
            Err(PolicyError::BatchSize(0))
        );
        assert_eq!(
            QueuePolicy::new(5, secs(2), secs(300), 10, 1),
            Err(PolicyError::MaxConcurrency(1))
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        assert!(QueuePolicy::new(1, secs(1), secs(1), 1, 2).is_ok());
        assert!(QueuePolicy::new(1000, secs(43_200), MAX_VISIBILITY, 10_000, 1000).is_ok());
    }
}
