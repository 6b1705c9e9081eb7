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
    /// The search index's (the index worker's).
    Index,
}

impl EventQueue {
    pub const ALL: [EventQueue; 5] = [
        EventQueue::Images,
        EventQueue::Notifications,
        EventQueue::Expiries,
        EventQueue::AuctionCloses,
        EventQueue::Index,
    ];

    /// The queue's key: the suffix of its name (`ecobid-<workspace>-<key>`) and its key in Terraform.
    pub fn key(self) -> &'static str {
        match self {
            EventQueue::Images => "images",
            EventQueue::Notifications => "notifications",
            EventQueue::Expiries => "expiries",
            EventQueue::AuctionCloses => "auction-closes",
            EventQueue::Index => "index",
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
    "unknown event queue {0:?}: expected one of images, notifications, expiries, auction-closes, index"
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

    /// The shortest backoff after a transient failure on receive `receive_count` (from 1):
    /// `base * 2^(receive_count - 1)`, capped at the backoff max. The worker's jitter only adds to it
    /// (`infra::backoff::visibility_after` lies in `[step, 2 * step]`, capped).
    pub fn backoff_step(&self, receive_count: u32) -> Duration {
        let doublings = receive_count.max(1) - 1;
        let step = 2u32
            .checked_pow(doublings)
            .and_then(|factor| self.backoff_base.checked_mul(factor))
            .unwrap_or(self.backoff_max);
        step.min(self.backoff_max)
    }

    /// The retry budget: the shortest time a message survives a dependency that fails it on every receive
    /// before it is dead-lettered. The worker hides it for a backoff step after each of its first
    /// `max_receive_count - 1` receives and dead-letters it itself on the last one, so the budget is the sum
    /// of those steps. Time spent waiting to be polled or being processed only adds to it; with the
    /// mapping's maximum concurrency set, Lambda leaves messages it has no room for in the queue, so
    /// throttled invocations use up no receives.
    pub fn retry_budget(&self) -> Duration {
        (1..self.max_receive_count)
            .map(|n| self.backoff_step(n))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_retry_budget_sums_the_backoff_steps_before_the_last_receive() {
        // 5 receives, 2 s base: 2 + 4 + 8 + 16 s, then dead-lettered on the fifth: half a minute.
        let old = QueuePolicy::new(5, secs(2), secs(300), 10, 5).expect("valid");
        assert_eq!(
            (1..=5).map(|n| old.backoff_step(n)).collect::<Vec<_>>(),
            [secs(2), secs(4), secs(8), secs(16), secs(32)]
        );
        assert_eq!(old.retry_budget(), secs(30));
        // 10 receives, 5 s base, capped at 15 min: 5 + 10 + ... + 640 + 900 s = 36 min 15 s.
        let outage = QueuePolicy::new(10, secs(5), secs(900), 10, 5).expect("valid");
        assert_eq!(outage.backoff_step(9), secs(900));
        assert_eq!(outage.retry_budget(), secs(2175));
        // One receive: dead-lettered on the first failure.
        let once = QueuePolicy::new(1, secs(2), secs(300), 10, 5).expect("valid");
        assert_eq!(once.retry_budget(), Duration::ZERO);
        // A huge receive count saturates at the cap instead of overflowing.
        let long = QueuePolicy::new(1000, secs(1), secs(43_200), 10, 5).expect("valid");
        assert_eq!(long.backoff_step(1000), secs(43_200));
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
