//! How long a transiently failed message stays hidden before its next try: exponential in its receive count,
//! with jitter so retries of many messages spread out, capped by the queue's policy (STYLE.md §9).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use domain::queue::{QueuePolicy, MAX_VISIBILITY};

/// The visibility timeout to give a message that failed transiently on its `receive_count`-th receive
/// (SQS's `ApproximateReceiveCount`, from 1).
///
/// Step n is `base * 2^(n-1)`, capped at the policy's max; backon's jitter adds a random part below the step,
/// and the result is capped again, so it lies in `[step_n, min(2 * step_n, max)]`: always growing with the
/// receive count until the cap, never above it. Whole seconds, as SQS takes them, rounded up.
pub fn visibility_after(policy: &QueuePolicy, receive_count: u32) -> Duration {
    let max = policy.backoff_max().min(MAX_VISIBILITY);
    // From step 64 on, base * 2^step is past any cap: every later step is the cap, so stop walking there.
    let step = usize::try_from(receive_count.max(1) - 1)
        .unwrap_or(usize::MAX)
        .min(64);
    let delay = ExponentialBuilder::default()
        .with_min_delay(policy.backoff_base())
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(step)
        .unwrap_or(max);
    let capped = delay.min(max);
    Duration::from_secs(capped.as_secs() + u64::from(capped.subsec_nanos() > 0)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base: u64, max: u64) -> QueuePolicy {
        QueuePolicy::new(
            5,
            Duration::from_secs(base),
            Duration::from_secs(max),
            10,
            2,
        )
        .expect("policy")
    }

    fn samples(p: &QueuePolicy, receive_count: u32) -> Vec<u64> {
        (0..500)
            .map(|_| visibility_after(p, receive_count).as_secs())
            .collect()
    }

    #[test]
    fn each_step_lies_between_its_exponential_and_twice_that_capped() {
        let p = policy(2, 300);
        for (receive_count, step) in [
            (1, 2),
            (2, 4),
            (3, 8),
            (4, 16),
            (5, 32),
            (6, 64),
            (7, 128),
            (8, 256),
        ] {
            for s in samples(&p, receive_count) {
                assert!(
                    s >= step && s <= (2 * step).min(300),
                    "receive {receive_count}: {s} s outside [{step}, {}]",
                    (2 * step).min(300)
                );
            }
        }
    }

    #[test]
    fn no_delay_is_shorter_than_the_step_the_retry_budget_counts() {
        // The budget (domain::queue::QueuePolicy::retry_budget) is a lower bound only if every delay is at
        // least its step, capped steps included.
        for p in [policy(2, 300), policy(5, 900), policy(1, 4)] {
            for receive_count in 1..=12 {
                let step = p.backoff_step(receive_count).as_secs();
                let low = samples(&p, receive_count).into_iter().min().unwrap_or(0);
                assert!(
                    low >= step,
                    "receive {receive_count}: {low} s < step {step} s"
                );
            }
        }
    }

    #[test]
    fn jitter_spreads_the_delays() {
        let s = samples(&policy(10, 3600), 3);
        let (min, max) = (s.iter().min().copied(), s.iter().max().copied());
        assert!(
            max.unwrap_or(0) - min.unwrap_or(0) >= 10,
            "500 draws between {min:?} and {max:?}: no jitter"
        );
    }

    #[test]
    fn delays_are_capped_by_the_policy() {
        let p = policy(2, 300);
        for receive_count in [9, 10, 50, 1000, u32::MAX] {
            assert!(
                samples(&p, receive_count)
                    .iter()
                    .all(|&s| (256..=300).contains(&s)),
                "receive {receive_count}"
            );
        }
    }

    #[test]
    fn a_cap_above_sqs_limit_is_held_to_twelve_hours() {
        let p = policy(40_000, 43_200);
        assert!(samples(&p, 5).iter().all(|&s| s == 43_200));
    }

    #[test]
    fn receive_count_zero_is_treated_as_the_first() {
        assert!(samples(&policy(2, 300), 0)
            .iter()
            .all(|&s| (2..=4).contains(&s)));
    }
}
