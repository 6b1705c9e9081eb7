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
