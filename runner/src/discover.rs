//! What Terraform applied, read back from the emulator's APIs: the functions, their event-source mappings,
//! the HTTP APIs, the CloudFront distributions, the schedule groups and the scheduled rules whose names start
//! with the runner's prefix.

use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;

/// A function as Lambda describes it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub arn: String,
    pub code_sha256: String,
    pub handler: String,
    pub environment: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: i32,
    /// `JSON` or `Text` (the function's logging config).
    pub log_format: Option<String>,
    pub log_level: Option<String>,
}

/// An SQS event-source mapping.
#[derive(Debug, Clone)]
pub struct SqsMapping {
    pub uuid: String,
    pub function_arn: String,
    pub queue_arn: String,
    pub batch_size: usize,
    pub window: Duration,
    pub concurrency: usize,
    pub report_failures: bool,
}

/// A DynamoDB stream event-source mapping.
#[derive(Debug, Clone)]
pub struct StreamMapping {
    pub uuid: String,
    pub function_arn: String,
    pub stream_arn: String,
    pub batch_size: usize,
    pub window: Duration,
    pub starting_position: String,
    pub report_failures: bool,
    /// `BisectBatchOnFunctionError`: a failing invocation's batch is split in two before it is retried.
    pub bisect: bool,
    /// `MaximumRetryAttempts` (None: -1, retried until the records expire).
    pub max_retries: Option<u32>,
    /// `DestinationConfig.OnFailure`: where the batches given up on are described.
    pub on_failure: Option<String>,
}

/// An HTTP API's routes.
#[derive(Debug, Clone)]
pub struct Api {
    pub id: String,
    pub name: String,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct Route {
    /// `GET /items/{id}`, `ANY /{proxy+}` or `$default`.
    pub key: String,
    /// The Lambda the route's integration invokes.
    pub function_arn: Option<String>,
    pub payload_format: String,
    pub jwt: Option<Jwt>,
    pub scopes: Vec<String>,
}

/// A JWT authorizer's configuration.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub issuer: String,
    pub audience: Vec<String>,
}

/// A CloudFront distribution, as far as the runner plays it: its origins and its default cache behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub id: String,
    pub arn: String,
    /// `d111111abcdef8.cloudfront.net`.
    pub domain_name: String,
    pub aliases: Vec<String>,
    pub origins: Vec<Origin>,
    pub default_behavior: Behavior,
    /// Path-pattern behaviours are not played (the runner says so at start).
    pub ordered_behaviors: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub id: String,
    pub domain_name: String,
    /// Prefixed to every key (`/photos`), or empty.
    pub path: String,
    /// The Origin Access Control CloudFront signs its requests to the origin with.
    pub access_control: Option<OriginAccessControl>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginAccessControl {
    pub id: String,
    pub origin_type: String,
    /// `always`, `never` or `no-override`.
    pub signing_behavior: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behavior {
    pub target_origin_id: String,
    pub viewer_protocol_policy: String,
    pub allowed_methods: Vec<String>,
    pub cache_policy_id: Option<String>,
    /// The legacy TTLs (no cache policy): min, default, max seconds.
    pub legacy_ttls: (i64, i64, i64),
}

/// Everything applied that the runner plays.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub functions: Vec<FunctionSpec>,
    pub sqs_mappings: Vec<SqsMapping>,
    pub stream_mappings: Vec<StreamMapping>,
    pub apis: Vec<Api>,
    pub distributions: Vec<Distribution>,
    pub schedule_groups: Vec<String>,
    pub scheduled_rules: Vec<String>,
}

/// Processes a function runs with at most: what its mappings can invoke at once, plus what an API may.
const API_CONCURRENCY: usize = 4;

impl Applied {
    pub fn concurrency(&self, function_arn: &str) -> usize {
        let sqs: usize = self
            .sqs_mappings
            .iter()
            .filter(|m| m.function_arn == function_arn)
            .map(|m| m.concurrency)
            .sum();
        let streams = self
            .stream_mappings
            .iter()
            .filter(|m| m.function_arn == function_arn)
            .count();
        let api = self
            .apis
            .iter()
            .flat_map(|a| &a.routes)
            .any(|r| r.function_arn.as_deref() == Some(function_arn));
        (sqs + streams + if api { API_CONCURRENCY } else { 0 }).max(1)
    }
}

/// A function ARN without a version or alias qualifier.
pub fn unqualified(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() > 7 {
        parts[..7].join(":")
    } else {
        arn.to_owned()
    }
}

pub async fn discover(aws: &SdkConfig, prefix: &str) -> anyhow::Result<Applied> {
    let lambda = aws_sdk_lambda::Client::new(aws);
    let mut applied = Applied::default();

    let functions: Vec<_> = lambda
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .context("listing the emulator's Lambda functions")?;
    for f in functions {
        let name = f.function_name().unwrap_or_default().to_owned();
        if !name.starts_with(prefix) {
            continue;
        }
        let logging = f.logging_config();
        let mut environment: Vec<(String, String)> = f
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        environment.sort();
        applied.functions.push(FunctionSpec {
            arn: unqualified(f.function_arn().unwrap_or_default()),
            code_sha256: f.code_sha256().unwrap_or_default().to_owned(),
            handler: f.handler().unwrap_or("bootstrap").to_owned(),
            environment,
            timeout: Duration::from_secs(f.timeout().unwrap_or(3).max(1) as u64),
            memory_mb: f.memory_size().unwrap_or(128),
            log_format: logging
                .and_then(|l| l.log_format())
                .map(|l| l.as_str().to_owned()),
            log_level: logging
                .and_then(|l| l.application_log_level())
                .map(|l| l.as_str().to_owned()),
            name,
        });
    }
    let arns: Vec<String> = applied.functions.iter().map(|f| f.arn.clone()).collect();

    let mappings: Vec<_> = lambda
        .list_event_source_mappings()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .context("listing the emulator's event-source mappings")?;
    for m in mappings {
        let function_arn = unqualified(m.function_arn().unwrap_or_default());
        if !arns.contains(&function_arn) {
            continue;
        }
        let source = m.event_source_arn().unwrap_or_default().to_owned();
        let uuid = m.uuid().unwrap_or_default().to_owned();
        let batch_size = m.batch_size().unwrap_or(10).max(1) as usize;
        let window =
            Duration::from_secs(m.maximum_batching_window_in_seconds().unwrap_or(0).max(0) as u64);
        let report_failures = m
            .function_response_types()
            .iter()
            .any(|t| t.as_str() == "ReportBatchItemFailures");
        if source.starts_with("arn:aws:sqs:") {
            applied.sqs_mappings.push(SqsMapping {
                uuid,
                function_arn,
                queue_arn: source,
                batch_size,
                window,
                // Lambda's default (and minimum) for SQS mappings without a scaling config is 2 at least.
                concurrency: m
                    .scaling_config()
                    .and_then(|s| s.maximum_concurrency())
                    .unwrap_or(2)
                    .max(1) as usize,
                report_failures,
            });
        } else if source.contains(":dynamodb:") && source.contains("/stream/") {
            applied.stream_mappings.push(StreamMapping {
                uuid,
                function_arn,
                stream_arn: source,
                batch_size,
                window,
                starting_position: m
                    .starting_position()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "TRIM_HORIZON".into()),
                report_failures,
                bisect: m.bisect_batch_on_function_error().unwrap_or(false),
                max_retries: m
                    .maximum_retry_attempts()
                    .and_then(|n| u32::try_from(n).ok()),
                on_failure: m
                    .destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|f| f.destination())
                    .map(str::to_owned),
            });
        }
    }

    applied.apis = apis(aws, &arns).await?;
    applied.distributions = distributions(aws, prefix).await?;

    let scheduler = aws_sdk_scheduler::Client::new(aws);
    let groups: Vec<_> = scheduler
        .list_schedule_groups()
        .name_prefix(prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .context("listing the emulator's schedule groups")?;
    applied.schedule_groups = groups
        .iter()
        .filter_map(|g| g.name().map(str::to_owned))
        .filter(|n| n.starts_with(prefix))
        .collect();

    let events = aws_sdk_eventbridge::Client::new(aws);
    let rules = events
        .list_rules()
        .name_prefix(prefix)
        .send()
        .await
        .context("listing the emulator's EventBridge rules")?;
    applied.scheduled_rules = rules
        .rules()
        .iter()
        .filter(|r| r.schedule_expression().is_some())
        .filter_map(|r| r.name().map(str::to_owned))
        .collect();
    Ok(applied)
}

async fn apis(aws: &SdkConfig, function_arns: &[String]) -> anyhow::Result<Vec<Api>> {
    let gw = aws_sdk_apigatewayv2::Client::new(aws);
    let listed = gw
        .get_apis()
        .send()
        .await
        .context("listing the emulator's HTTP APIs")?;
    let mut out = Vec::new();
    for api in listed.items() {
        let Some(id) = api.api_id() else { continue };
        let integrations = gw
            .get_integrations()
            .api_id(id)
            .send()
            .await
            .with_context(|| format!("reading the integrations of API {id}"))?;
        // One GetAuthorizer per authorizer the routes use (moto has no GetAuthorizers).
        let mut authorizers: std::collections::HashMap<String, Option<Jwt>> = Default::default();
        let routes = gw
            .get_routes()
            .api_id(id)
            .send()
            .await
            .with_context(|| format!("reading the routes of API {id}"))?;
        let mut api_routes = Vec::new();
        for r in routes.items() {
            let integration = r
                .target()
                .and_then(|t| t.strip_prefix("integrations/"))
                .and_then(|iid| {
                    integrations
                        .items()
                        .iter()
                        .find(|i| i.integration_id() == Some(iid))
                });
            let function_arn = integration
                .and_then(|i| i.integration_uri())
                .map(lambda_arn_of_uri)
                .filter(|a| function_arns.contains(a));
            let mut jwt = None;
            if let (Some("JWT"), Some(authorizer_id)) = (
                r.authorization_type().map(|t| t.as_str()),
                r.authorizer_id(),
            ) {
                if !authorizers.contains_key(authorizer_id) {
                    let a = gw
                        .get_authorizer()
                        .api_id(id)
                        .authorizer_id(authorizer_id)
                        .send()
                        .await
                        .with_context(|| {
                            format!("reading authorizer {authorizer_id} of API {id}")
                        })?;
                    let config = a.jwt_configuration().map(|j| Jwt {
                        issuer: j.issuer().unwrap_or_default().to_owned(),
                        audience: j.audience().to_vec(),
                    });
                    authorizers.insert(authorizer_id.to_owned(), config);
                }
                jwt = authorizers.get(authorizer_id).cloned().flatten();
            }
            if r.authorization_type().map(|t| t.as_str()) == Some("JWT") && jwt.is_none() {
                anyhow::bail!(
                    "route {:?} of API {id} uses a JWT authorizer the emulator does not describe",
                    r.route_key()
                );
            }
            api_routes.push(Route {
                key: r.route_key().unwrap_or_default().to_owned(),
                function_arn,
                payload_format: integration
                    .and_then(|i| i.payload_format_version())
                    .unwrap_or("2.0")
                    .to_owned(),
                jwt,
                scopes: r.authorization_scopes().to_vec(),
            });
        }
        out.push(Api {
            id: id.to_owned(),
            name: api.name().unwrap_or_default().to_owned(),
            routes: api_routes,
        });
    }
    Ok(out)
}

/// The enabled distributions whose comment starts with the prefix: a distribution has no name, and its
/// comment is what the console shows as its description (the cdn module sets it to `<name_prefix>-…`).
async fn distributions(aws: &SdkConfig, prefix: &str) -> anyhow::Result<Vec<Distribution>> {
    let cloudfront = aws_sdk_cloudfront::Client::new(aws);
    let listed = cloudfront
        .list_distributions()
        .send()
        .await
        .context("listing the emulator's CloudFront distributions")?;
    let summaries = listed
        .distribution_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default();
    let mut out = Vec::new();
    for d in summaries {
        if !d.enabled() || !d.comment().starts_with(prefix) {
            continue;
        }
        let mut origins = Vec::new();
        for o in d.origins().map(|o| o.items()).unwrap_or_default() {
            let access_control = match o.origin_access_control_id().filter(|id| !id.is_empty()) {
                None => None,
                Some(id) => {
                    let got = cloudfront
                        .get_origin_access_control()
                        .id(id)
                        .send()
                        .await
                        .with_context(|| {
                            format!(
                                "reading origin access control {id} of distribution {}",
                                d.id()
                            )
                        })?;
                    let config = got
                        .origin_access_control()
                        .and_then(|c| c.origin_access_control_config());
                    Some(OriginAccessControl {
                        id: id.to_owned(),
                        origin_type: config
                            .map(|c| c.origin_access_control_origin_type().as_str().to_owned())
                            .unwrap_or_default(),
                        signing_behavior: config
                            .map(|c| c.signing_behavior().as_str().to_owned())
                            .unwrap_or_default(),
                    })
                }
            };
            origins.push(Origin {
                id: o.id().to_owned(),
                domain_name: o.domain_name().to_owned(),
                path: o.origin_path().unwrap_or_default().to_owned(),
                access_control,
            });
        }
        let Some(b) = d.default_cache_behavior() else {
            anyhow::bail!("distribution {} has no default cache behaviour", d.id());
        };
        out.push(Distribution {
            id: d.id().to_owned(),
            arn: d.arn().to_owned(),
            domain_name: d.domain_name().to_owned(),
            aliases: d.aliases().map(|a| a.items().to_vec()).unwrap_or_default(),
            origins,
            default_behavior: Behavior {
                target_origin_id: b.target_origin_id().to_owned(),
                viewer_protocol_policy: b.viewer_protocol_policy().as_str().to_owned(),
                allowed_methods: b
                    .allowed_methods()
                    .map(|m| m.items().iter().map(|m| m.as_str().to_owned()).collect())
                    .unwrap_or_else(|| vec!["GET".into(), "HEAD".into()]),
                cache_policy_id: b
                    .cache_policy_id()
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                // The legacy TTLs are deprecated in favour of cache policies, and still what a behaviour
                // without one is cached by.
                #[allow(deprecated)]
                legacy_ttls: (
                    b.min_ttl().unwrap_or(0),
                    b.default_ttl().unwrap_or(86_400),
                    b.max_ttl().unwrap_or(31_536_000),
                ),
            },
            ordered_behaviors: d.cache_behaviors().map(|c| c.items().len()).unwrap_or(0),
        });
    }
    Ok(out)
}

/// The function ARN in an integration URI: either the ARN itself or API Gateway's
/// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations`.
pub fn lambda_arn_of_uri(uri: &str) -> String {
    let arn = uri
        .split_once("/functions/")
        .map(|(_, rest)| rest.trim_end_matches("/invocations"))
        .unwrap_or(uri);
    unqualified(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_uris_name_their_function() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:ecobid-dev-api";
        assert_eq!(lambda_arn_of_uri(arn), arn);
        assert_eq!(
            lambda_arn_of_uri(&format!(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{arn}/invocations"
            )),
            arn
        );
        assert_eq!(unqualified(&format!("{arn}:$LATEST")), arn);
    }
}
