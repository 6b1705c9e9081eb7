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

/// A variable every start needs, read from the process environment (not set or blank: [`ConfigError::Missing`]).
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// An optional positive number of seconds from the process environment (not set or blank: None).
pub fn optional_seconds(name: &'static str) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(Duration::from_secs(n))),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            reason: "not a positive whole number of seconds".into(),
        }),
    }
}

/// What the API function needs (Terraform's `module "api_function"` environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub table_name: String,
    /// The search index's table.
    pub search_table_name: String,
    pub uploads_bucket: String,
    pub uploads_prefix: String,
    /// How long a reservation holds an item (default: DOMAIN.md's 24 h); tests shorten it.
    pub reservation_ttl: Option<Duration>,
    /// The shortest auction allowed (default 5 minutes); tests shorten it.
    pub min_auction: Option<Duration>,
    /// The anti-sniping window (default 2 minutes); tests shorten it.
    pub sniping_window: Option<Duration>,
    /// SNS platform applications for push endpoints, where configured.
    pub push_application_ios: Option<String>,
    pub push_application_android: Option<String>,
    /// Where S3 is when not AWS's own (the local emulator): presigned forms point there, path-style.
    pub s3_endpoint: Option<String>,
    /// Where thumbnails are served from: `<MEDIA_BASE_URL>/<thumbnail key>` (the CDN).
    pub media_base_url: String,
    /// The thumbnails bucket (a deleted account's photos go from there too).
    pub thumbnails_bucket: String,
    /// The user pool whose users the API deletes with their accounts.
    pub user_pool_id: String,
    /// The user pool group whose members may use the /admin routes (`cognito:groups` holds it).
    pub moderators_group: String,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let text = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));
        let seconds = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            optional(name)
                .map(|value| match value.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
                    _ => Err(ConfigError::Invalid {
                        name,
                        value,
                        reason: "not a positive whole number of seconds".into(),
                    }),
                })
                .transpose()
        };
        Ok(Self {
            table_name: text("TABLE_NAME")?,
            search_table_name: text("SEARCH_TABLE_NAME")?,
            uploads_bucket: text("UPLOADS_BUCKET")?,
            media_base_url: text("MEDIA_BASE_URL")?,
            thumbnails_bucket: text("THUMBNAILS_BUCKET")?,
            user_pool_id: text("USER_POOL_ID")?,
            moderators_group: text("MODERATORS_GROUP")?,
            uploads_prefix: optional("UPLOADS_PREFIX").unwrap_or_else(|| "uploads/".into()),
            reservation_ttl: seconds("RESERVATION_TTL_SECONDS")?,
            min_auction: seconds("MIN_AUCTION_SECONDS")?,
            sniping_window: seconds("SNIPING_WINDOW_SECONDS")?,
            push_application_ios: optional("PUSH_APPLICATION_ARN_IOS"),
            push_application_android: optional("PUSH_APPLICATION_ARN_ANDROID"),
            s3_endpoint: optional("AWS_ENDPOINT_URL_S3").or_else(|| optional("AWS_ENDPOINT_URL")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn api_config_reads_names_and_optional_durations() {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("TABLE_NAME", "t"),
            ("SEARCH_TABLE_NAME", "s"),
            ("UPLOADS_BUCKET", "b"),
            ("MEDIA_BASE_URL", "https://d1.cloudfront.net"),
            ("THUMBNAILS_BUCKET", "th"),
            ("USER_POOL_ID", "eu-west-1_x"),
            ("MODERATORS_GROUP", "moderators"),
            ("RESERVATION_TTL_SECONDS", "30"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]);
        let cfg = ApiConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(cfg.reservation_ttl, Some(Duration::from_secs(30)));
        assert_eq!(cfg.min_auction, None);
        assert_eq!(cfg.uploads_prefix, "uploads/");
        assert_eq!(cfg.s3_endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        assert_eq!(cfg.media_base_url, "https://d1.cloudfront.net");
        let missing = ApiConfig::from_lookup(|k| (k == "TABLE_NAME").then(|| "t".into()));
        assert_eq!(missing, Err(ConfigError::Missing("SEARCH_TABLE_NAME")));
        let bad = ApiConfig::from_lookup(|k| match k {
            "MIN_AUCTION_SECONDS" => Some("soon".into()),
            "TABLE_NAME" | "SEARCH_TABLE_NAME" | "UPLOADS_BUCKET" | "MEDIA_BASE_URL"
            | "THUMBNAILS_BUCKET" | "USER_POOL_ID" | "MODERATORS_GROUP" => Some("x".into()),
            _ => None,
        });
        assert!(matches!(
            bad,
            Err(ConfigError::Invalid {
                name: "MIN_AUCTION_SECONDS",
                ..
            })
        ));
    }

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
