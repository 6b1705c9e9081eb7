//! Configuration read once at cold start from the environment Terraform gives each function
//! (`terraform/main.tf`, `module "workers"`): names match the `environment` keys there.

use std::time::Duration;

use domain::queue::{PolicyError, QueuePolicy};

/// What every SQS worker needs: where its table and queues are, and its queue's retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    pub table_name: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub policy: QueuePolicy,
}

/// A configuration problem, naming the variable: reported at cold start, never per message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("queue policy from the environment is refused: {0}")]
    Policy(#[from] PolicyError),
}

impl WorkerConfig {
    /// The queue's name: the last segment of its URL.
    pub fn queue_name(&self) -> &str {
        self.queue_url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(&self.queue_url)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str| -> Result<String, ConfigError> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => Ok(v),
                _ => Err(ConfigError::Missing(name)),
            }
        };
        let number = |name: &'static str| -> Result<u32, ConfigError> {
            let value = text(name)?;
            value
                .trim()
                .parse::<u32>()
                .map_err(|e| ConfigError::Invalid {
                    name,
                    value: value.clone(),
                    reason: format!("not a whole number ({e})"),
                })
        };
        let url = |name: &'static str| -> Result<String, ConfigError> {
            let value = text(name)?;
            if value.starts_with("https://") || value.starts_with("http://") {
                Ok(value)
            } else {
                Err(ConfigError::Invalid {
                    name,
                    value,
                    reason: "not an http(s) URL".into(),
                })
            }
        };

        let policy = QueuePolicy::new(
            number("MAX_RECEIVE_COUNT")?,
            Duration::from_secs(number("BACKOFF_BASE_SECONDS")?.into()),
            Duration::from_secs(number("BACKOFF_MAX_SECONDS")?.into()),
            number("BATCH_SIZE")?,
            number("MAX_CONCURRENCY")?,
        )?;
        Ok(Self {
            table_name: text("TABLE_NAME")?,
            queue_url: url("QUEUE_URL")?,
            dlq_url: url("DLQ_URL")?,
            policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(overrides: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars: HashMap<String, String> = [
            ("TABLE_NAME", "ecobid-dev-table"),
            (
                "QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/ecobid-dev-images",
            ),
            (
                "DLQ_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/ecobid-dev-images-dlq",
            ),
            ("MAX_RECEIVE_COUNT", "5"),
            ("BACKOFF_BASE_SECONDS", "2"),
            ("BACKOFF_MAX_SECONDS", "300"),
            ("BATCH_SIZE", "10"),
            ("MAX_CONCURRENCY", "4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in overrides {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        vars
    }

    fn parse(vars: HashMap<String, String>) -> Result<WorkerConfig, ConfigError> {
        WorkerConfig::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn reads_what_terraform_sets() {
        let cfg = parse(env(&[])).expect("valid");
        assert_eq!(cfg.table_name, "ecobid-dev-table");
        assert_eq!(
            cfg.dlq_url,
            "https://sqs.eu-west-1.amazonaws.com/1/ecobid-dev-images-dlq"
        );
        assert_eq!(cfg.policy.max_receive_count(), 5);
        assert_eq!(cfg.policy.backoff_max(), Duration::from_secs(300));
        assert_eq!(cfg.policy.max_concurrency(), 4);
        assert_eq!(cfg.queue_name(), "ecobid-dev-images");
    }

    #[test]
    fn names_a_missing_variable() {
        let mut vars = env(&[]);
        vars.remove("DLQ_URL");
        assert_eq!(parse(vars), Err(ConfigError::Missing("DLQ_URL")));
        assert_eq!(
            parse(env(&[("TABLE_NAME", " ")])),
            Err(ConfigError::Missing("TABLE_NAME"))
        );
    }

    #[test]
    fn names_an_invalid_variable() {
        let err = parse(env(&[("BATCH_SIZE", "ten")])).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "BATCH_SIZE",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("BATCH_SIZE is \"ten\""), "{err}");
        let err = parse(env(&[("QUEUE_URL", "ecobid-dev-images")])).unwrap_err();
        assert!(err.to_string().contains("QUEUE_URL"), "{err}");
    }

    #[test]
    fn refuses_a_policy_out_of_bounds() {
        let err = parse(env(&[("BACKOFF_BASE_SECONDS", "600")])).unwrap_err();
        assert!(
            matches!(err, ConfigError::Policy(PolicyError::BackoffBase { .. })),
            "{err}"
        );
    }
}
