//! The Scheduler, played: every second, the schedules of the runner's schedule groups that are due are sent to
//! their SQS target (`Input` as the body). One-time `at()` schedules fire once and are deleted afterwards when
//! their `ActionAfterCompletion` is `DELETE`; `rate()` and `cron()` schedules fire on their period (UTC). Rules
//! with a schedule expression send their targets the "Scheduled Event" (or the target's `Input`).

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, NaiveDateTime, Utc};
use croner::Cron;
use serde_json::json;
use tokio::task::JoinSet;
use tracing::{info, warn};

/// When a schedule expression fires.
#[derive(Debug, Clone)]
pub enum Expression {
    At(DateTime<Utc>),
    Rate(Duration),
    Cron(Box<Cron>),
}

impl Expression {
    /// Parses `at(yyyy-mm-ddThh:mm:ss)`, `rate(n unit)` or `cron(min hour dom month dow year)`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|t| t.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(at) = inner("at(") {
            let t = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
                .map_err(|e| format!("{text}: {e}"))?;
            return Ok(Self::At(t.and_utc()));
        }
        if let Some(rate) = inner("rate(") {
            let (n, unit) = rate
                .split_once(' ')
                .ok_or_else(|| format!("{text}: no unit"))?;
            let n: u64 = n.parse().map_err(|_| format!("{text}: not a number"))?;
            let secs = match unit.trim_end_matches('s') {
                "minute" => 60,
                "hour" => 3600,
                "day" => 86400,
                _ => return Err(format!("{text}: unit must be minute(s), hour(s) or day(s)")),
            };
            return Ok(Self::Rate(Duration::from_secs(n * secs)));
        }
        if let Some(cron) = inner("cron(") {
            let fields: Vec<&str> = cron.split_whitespace().collect();
            if fields.len() != 6 {
                return Err(format!("{text}: a cron expression has 6 fields"));
            }
            if !matches!(fields[5], "*" | "?") {
                return Err(format!("{text}: only a year of * is played"));
            }
            let five = fields[..5].join(" ");
            let cron = Cron::from_str(&five).map_err(|e| format!("{text}: {e}"))?;
            return Ok(Self::Cron(Box::new(cron)));
        }
        Err(format!("{text}: not an at(), rate() or cron() expression"))
    }

    /// Whether it fires in the tick.
    pub fn due(&self, tick: &Tick) -> bool {
        match self {
            Self::At(at) => *at <= tick.now,
            Self::Rate(period) => {
                let period = period.as_secs().max(1) as i64;
                let n = |t: DateTime<Utc>| (t - tick.started).num_seconds().div_euclid(period);
                n(tick.now) > n(tick.last)
            }
            Self::Cron(cron) => cron
                .find_next_occurrence(&tick.last, false)
                .is_ok_and(|next| next <= tick.now),
        }
    }
}

/// One look at the clock: what fires is what falls in `(last, now]`; rates count from `started`.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    pub last: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub started: DateTime<Utc>,
}

pub fn play(groups: Vec<String>, rules: Vec<String>, aws: &SdkConfig, tasks: &mut JoinSet<()>) {
    if groups.is_empty() && rules.is_empty() {
        return;
    }
    let scheduler = aws_sdk_scheduler::Client::new(aws);
    let events = aws_sdk_eventbridge::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    tasks.spawn(async move {
        let started = Utc::now();
        let mut last = started;
        let mut fired_once: HashSet<String> = HashSet::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let tick = Tick {
                last,
                now: Utc::now(),
                started,
            };
            for group in &groups {
                if let Err(e) = tick_group(&scheduler, &sqs, group, &tick, &mut fired_once).await {
                    warn!(group, error.message = %e, "playing the schedule group failed; retrying");
                }
            }
            for rule in &rules {
                if let Err(e) = tick_rule(&events, &sqs, rule, &tick).await {
                    warn!(rule, error.message = %e, "playing the scheduled rule failed; retrying");
                }
            }
            last = tick.now;
        }
    });
}

async fn tick_group(
    scheduler: &aws_sdk_scheduler::Client,
    sqs: &aws_sdk_sqs::Client,
    group: &str,
    tick: &Tick,
    fired_once: &mut HashSet<String>,
) -> anyhow::Result<()> {
    let listed: Vec<_> = scheduler
        .list_schedules()
        .group_name(group)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await?;
    for summary in listed {
        let Some(name) = summary.name() else { continue };
        if summary.state().map(|s| s.as_str()) == Some("DISABLED") {
            continue;
        }
        let key = format!("{group}/{name}");
        if fired_once.contains(&key) {
            continue;
        }
        let schedule = scheduler
            .get_schedule()
            .group_name(group)
            .name(name)
            .send()
            .await?;
        let Some(expression) = schedule.schedule_expression() else {
            continue;
        };
        let expression = match Expression::parse(expression) {
            Ok(e) => e,
            Err(why) => {
                warn!(schedule = %key, reason = %why, "schedule expression not played");
                continue;
            }
        };
        if let Some(tz) = schedule.schedule_expression_timezone() {
            if tz != "UTC" && tz != "Etc/UTC" {
                warn!(schedule = %key, timezone = tz, "only UTC schedules are played");
                continue;
            }
        }
        if !expression.due(tick) {
            continue;
        }
        let Some(target) = schedule.target() else {
            continue;
        };
        let body = target.input().unwrap_or("{}").to_owned();
        send(sqs, target.arn(), &body).await?;
        info!(schedule = %key, target = target.arn(), "schedule fired");
        if let Expression::At(_) = expression {
            fired_once.insert(key.clone());
            if schedule.action_after_completion().map(|a| a.as_str()) == Some("DELETE") {
                scheduler
                    .delete_schedule()
                    .group_name(group)
                    .name(name)
                    .send()
                    .await?;
                fired_once.remove(&key);
            }
        }
    }
    Ok(())
}

async fn tick_rule(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    rule: &str,
    tick: &Tick,
) -> anyhow::Result<()> {
    let described = events.describe_rule().name(rule).send().await?;
    if described.state().map(|s| s.as_str()) != Some("ENABLED") {
        return Ok(());
    }
    let Some(expression) = described.schedule_expression() else {
        return Ok(());
    };
    let expression = Expression::parse(expression).map_err(anyhow::Error::msg)?;
    if !expression.due(tick) {
        return Ok(());
    }
    let (region, account) = described
        .arn()
        .and_then(|a| {
            let mut p = a.split(':').skip(3);
            Some((p.next()?.to_owned(), p.next()?.to_owned()))
        })
        .unwrap_or_default();
    let scheduled = json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": tick.now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": region,
        "resources": [described.arn()],
        "detail": {},
    });
    let targets = events.list_targets_by_rule().rule(rule).send().await?;
    for target in targets.targets() {
        let body = target
            .input()
            .map(str::to_owned)
            .unwrap_or_else(|| scheduled.to_string());
        send(sqs, target.arn(), &body).await?;
        info!(rule, target = target.arn(), "scheduled rule fired");
    }
    Ok(())
}

async fn send(sqs: &aws_sdk_sqs::Client, target_arn: &str, body: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        target_arn.starts_with("arn:aws:sqs:"),
        "target {target_arn} is not an SQS queue: only SQS targets are played"
    );
    let url = crate::sqs::queue_url(sqs, target_arn)
        .await
        .ok_or_else(|| anyhow::anyhow!("target queue {target_arn} not found"))?;
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + s, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn at_schedules_are_due_from_their_time() {
        let e = Expression::parse("at(2026-11-21T10:00:00)").expect("parses");
        let Expression::At(at) = e else {
            panic!("an at()")
        };
        let s = chrono::Duration::seconds;
        let tick = |last, now| Tick {
            last,
            now,
            started: at - s(60),
        };
        assert!(!e.due(&tick(at - s(2), at - s(1))));
        assert!(e.due(&tick(at - s(1), at)));
        // Still due when the runner looks late (it was down): a one-time schedule is never lost.
        assert!(e.due(&tick(at + s(30), at + s(31))));
    }

    #[test]
    fn rates_fire_once_per_period() {
        let e = Expression::parse("rate(1 minute)").expect("parses");
        let fired: usize = (1..=180)
            .filter(|s| {
                e.due(&Tick {
                    last: t(s - 1),
                    now: t(*s),
                    started: t(0),
                })
            })
            .count();
        assert_eq!(fired, 3);
    }

    #[test]
    fn crons_fire_at_their_minute() {
        let e = Expression::parse("cron(0 3 * * ? *)").expect("parses");
        let day = Utc
            .with_ymd_and_hms(2026, 11, 21, 3, 0, 0)
            .single()
            .expect("time");
        let s = chrono::Duration::seconds;
        assert!(e.due(&Tick {
            last: day - s(1),
            now: day,
            started: day
        }));
        assert!(!e.due(&Tick {
            last: day,
            now: day + s(1),
            started: day
        }));
    }

    #[test]
    fn bad_expressions_are_named() {
        for bad in [
            "rate(5 weeks)",
            "cron(0 3 * * ?)",
            "at(tomorrow)",
            "every day",
        ] {
            let err = Expression::parse(bad).expect_err(bad);
            assert!(err.contains(bad), "{err}");
        }
    }
}
