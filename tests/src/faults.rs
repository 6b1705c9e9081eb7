//! The local stack's fault injection (`scripts/local/faults.py`), from the tests: make a named AWS operation
//! fail with a given error, N times or for a while, optionally only for requests naming a resource. A test owns
//! the faults it injects ([`Injected`] deletes its fault when dropped), so no suite changes what another sees.

use std::time::Duration;

use serde_json::{json, Value};

/// One fault to inject: `service` is the signing name (`s3`, `dynamodb`, `sns`, ...), `operation` the API
/// operation (`PutObject`, `PutItem`, ...).
#[derive(Debug, Clone)]
pub struct Fault {
    spec: Value,
}

impl Fault {
    /// `operation` of `service` fails with `code` and HTTP `status`, until the fault is removed.
    pub fn new(service: &str, operation: &str, code: &str, status: u16) -> Self {
        Self {
            spec: json!({"service": service, "operation": operation, "code": code, "status": status}),
        }
    }

    /// Only for the first `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.spec["times"] = n.into();
        self
    }

    /// Only for `d` from now.
    pub fn lasting(mut self, d: Duration) -> Self {
        self.spec["seconds"] = d.as_secs_f64().into();
        self
    }

    /// Only for requests whose resource text (host, path, query, JSON or form body) contains `text`.
    pub fn matching(mut self, text: &str) -> Self {
        self.spec["match"] = text.into();
        self
    }

    /// With this error message.
    pub fn message(mut self, text: &str) -> Self {
        self.spec["message"] = text.into();
        self
    }
}

/// The fault-injection endpoint of one emulator.
#[derive(Debug, Clone)]
pub struct Faults {
    base: String,
    http: reqwest::Client,
}

/// A fault in force; removed when dropped (or by [`Injected::remove`]).
#[derive(Debug)]
pub struct Injected {
    faults: Faults,
    id: String,
    removed: bool,
}

impl Faults {
    /// The emulator at `endpoint` (its AWS endpoint URL).
    pub fn new(endpoint: &str) -> Self {
        Self {
            base: format!("{}/_ecobid/faults", endpoint.trim_end_matches('/')),
            http: reqwest::Client::new(),
        }
    }

    /// Puts `fault` in force.
    pub async fn inject(&self, fault: Fault) -> Injected {
        let answer = self
            .http
            .post(&self.base)
            .json(&fault.spec)
            .send()
            .await
            .expect("the fault endpoint answers");
        let status = answer.status();
        let body: Value = answer.json().await.expect("a JSON answer");
        assert_eq!(
            status.as_u16(),
            201,
            "fault {:?} refused: {body}",
            fault.spec
        );
        Injected {
            faults: self.clone(),
            id: body["id"].as_str().expect("a fault id").to_owned(),
            removed: false,
        }
    }

    /// How many requests the fault `id` failed so far.
    pub async fn hits(&self, id: &str) -> u64 {
        let all: Value = self
            .http
            .get(&self.base)
            .send()
            .await
            .expect("the fault endpoint answers")
            .json()
            .await
            .expect("JSON");
        all["faults"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["id"] == id))
            .and_then(|f| f["hits"].as_u64())
            .unwrap_or(0)
    }

    async fn delete(&self, id: &str) {
        let _ = self.http.delete(format!("{}/{id}", self.base)).send().await;
    }
}

impl Injected {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Requests it failed so far.
    pub async fn hits(&self) -> u64 {
        self.faults.hits(&self.id).await
    }

    /// Ends the fault (the dependency recovers).
    pub async fn remove(mut self) {
        self.faults.delete(&self.id).await;
        self.removed = true;
    }
}

impl Drop for Injected {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // A test that panicked still ends its fault, so it cannot leak into another test.
        let (faults, id) = (self.faults.clone(), self.id.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(faults.delete(&id));
            }
        })
        .join();
    }
}

/// A dependency as it fails in an outage AWS users see: it throttles first, then answers server errors.
#[derive(Debug, Clone, Copy)]
pub struct Dependency {
    /// The signing name (`dynamodb`, `s3`, ...).
    pub service: &'static str,
    /// The throttling error: (code, HTTP status).
    pub throttled: (&'static str, u16),
    /// The server error: (code, HTTP status).
    pub failing: (&'static str, u16),
    /// Requests one throttled call makes: the SDKs' standard retry mode tries a throttling error 3 times; SNS's
    /// `Throttled` is not on their list (our classifier adds it), so it is tried once.
    pub attempts: u32,
}

/// Each dependency a worker or the publisher calls, with the throttling and server errors of its API
/// reference (the codes the SDKs classify as throttling and as transient).
pub mod dependency {
    use super::Dependency;

    pub const DYNAMODB: Dependency = Dependency {
        service: "dynamodb",
        throttled: ("ProvisionedThroughputExceededException", 400),
        failing: ("InternalServerError", 500),
        attempts: 3,
    };
    pub const S3: Dependency = Dependency {
        service: "s3",
        throttled: ("SlowDown", 503),
        failing: ("InternalError", 500),
        attempts: 3,
    };
    /// SNS's `ThrottledException` travels as the query code `Throttled`.
    pub const SNS: Dependency = Dependency {
        service: "sns",
        throttled: ("Throttled", 429),
        failing: ("InternalError", 500),
        attempts: 1,
    };
    /// SES v2 (signing name `ses`).
    pub const SES: Dependency = Dependency {
        service: "ses",
        throttled: ("TooManyRequestsException", 429),
        failing: ("InternalFailure", 500),
        attempts: 3,
    };
    pub const REKOGNITION: Dependency = Dependency {
        service: "rekognition",
        throttled: ("ThrottlingException", 400),
        failing: ("InternalServerError", 500),
        attempts: 3,
    };
    pub const SCHEDULER: Dependency = Dependency {
        service: "scheduler",
        throttled: ("ThrottlingException", 429),
        failing: ("InternalServerException", 500),
        attempts: 3,
    };
    pub const EVENTBRIDGE: Dependency = Dependency {
        service: "events",
        throttled: ("ThrottlingException", 400),
        failing: ("InternalException", 500),
        attempts: 3,
    };
}

/// An outage in force: `operations` of a dependency throttle the first call (its [`Dependency::attempts`]) and then
/// answer server errors, until `period` after the first request it refused; then they pass again. Timed from
/// the first refusal, not from its start, so the flow meets the whole of it however long it takes to get there.
#[derive(Debug)]
pub struct Outage {
    pub dependency: Dependency,
    pub period: Duration,
    /// Once it is over: the requests it refused, (throttled, server errors).
    ended: tokio::sync::watch::Receiver<Option<(u64, u64)>>,
}

impl Faults {
    /// Starts an outage of `operations` of `dependency` for `period`, for requests matching `matching`.
    pub async fn outage(
        &self,
        dependency: Dependency,
        operations: &[&str],
        matching: &str,
        period: Duration,
    ) -> Outage {
        let fault = |op: &str, (code, status): (&str, u16)| {
            Fault::new(dependency.service, op, code, status)
                .matching(matching)
                .message(&format!("injected outage of {}", dependency.service))
        };
        // The first active fault a request matches answers it: the throttles, registered first, until each
        // has refused its share; the server errors after them, until the watcher ends them.
        let mut throttles = Vec::new();
        for op in operations {
            throttles.push(
                self.inject(fault(op, dependency.throttled).times(dependency.attempts))
                    .await,
            );
        }
        let mut failures = Vec::new();
        for op in operations {
            failures.push(self.inject(fault(op, dependency.failing)).await);
        }
        let ids = |f: &[Injected]| f.iter().map(|f| f.id().to_owned()).collect::<Vec<_>>();
        let (throttled, failing) = (ids(&throttles), ids(&failures));
        let (tell, ended) = tokio::sync::watch::channel(None);
        let watcher = self.clone();
        let all = [throttled.clone(), failing.clone()].concat();
        tokio::spawn(async move {
            // The throttles' faults end by themselves; holding them here removes them when the outage ends.
            let _throttles = throttles;
            while watcher.refused(&all).await == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(period).await;
            // Counted just before the faults go (a removed fault's count goes with it): the throttles are
            // spent by now; a server error in the last moment may be missed.
            let felt = (
                watcher.refused(&throttled).await,
                watcher.refused(&failing).await,
            );
            for f in failures {
                f.remove().await;
            }
            let _ = tell.send(Some(felt));
        });
        Outage {
            dependency,
            period,
            ended,
        }
    }

    async fn refused(&self, ids: &[String]) -> u64 {
        let mut n = 0;
        for id in ids {
            n += self.hits(id).await;
        }
        n
    }
}

impl Outage {
    /// Once the outage is over (waiting for it), the requests it refused: (throttled, server errors).
    pub async fn felt(&self) -> (u64, u64) {
        let mut ended = self.ended.clone();
        let felt = *ended
            .wait_for(Option::is_some)
            .await
            .expect("the outage's watcher reports its end");
        felt.unwrap_or_default()
    }

    /// Waits until the dependency has recovered.
    pub async fn over(&self) {
        self.felt().await;
    }
}
