//! The local runner's API Gateway (routes, payload 2.0, the JWT authorizer against a Cognito user pool) and its
//! Scheduler, each against resources made on the emulator the way Terraform makes them.

use std::time::Duration;

use aws_sdk_apigatewayv2::types::{
    AuthorizationType, AuthorizerType, IntegrationType, JwtConfiguration, ProtocolType,
};
use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use serde_json::Value;

use crate::support::emulator::{
    applied_role, eventually, queue_arn, unique, zip_binary, Emulator, REGION,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_api_routes_requests_and_enforces_its_jwt_authorizer() {
    let emulator = Emulator::from_env().await;
    let aws = &emulator.aws;
    let (lambda, gw, cognito) = (
        aws_sdk_lambda::Client::new(aws),
        aws_sdk_apigatewayv2::Client::new(aws),
        aws_sdk_cognitoidentityprovider::Client::new(aws),
    );
    let name = unique("api");

    // GIVEN a user pool with the app's client and another client
    let pool = cognito
        .create_user_pool()
        .pool_name(&name)
        .send()
        .await
        .expect("pool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client = |client_name: String| {
        cognito
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name(client_name)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
    };
    let app = client(format!("{name}-app")).await.expect("client");
    let app_id = app
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("id")
        .to_owned();
    let other = client(format!("{name}-other")).await.expect("client");
    let other_id = other
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("id")
        .to_owned();

    // AND an HTTP API: a JWT-authorized route and a public one, integrated with a Lambda the runner never saw
    let zip = std::fs::read(zip_binary(env!("CARGO_BIN_EXE_probe-http"), "http")).expect("zip");
    let function = lambda
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(applied_role(&lambda, &emulator.workspace).await)
        .timeout(10)
        .code(FunctionCode::builder().zip_file(zip.into()).build())
        .send()
        .await
        .expect("function");
    let function_arn = function.function_arn().expect("arn").to_owned();
    let api = gw
        .create_api()
        .name(&name)
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .expect("api");
    let api_id = api.api_id().expect("api id").to_owned();
    let integration = gw
        .create_integration()
        .api_id(&api_id)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(format!(
            "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
        ))
        .payload_format_version("2.0")
        .send()
        .await
        .expect("integration");
    let target = format!("integrations/{}", integration.integration_id().expect("id"));
    let authorizer = gw
        .create_authorizer()
        .api_id(&api_id)
        .name("jwt")
        .authorizer_type(AuthorizerType::Jwt)
        .identity_source("$request.header.Authorization")
        .jwt_configuration(
            JwtConfiguration::builder()
                .issuer(format!(
                    "https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
                ))
                .audience(&app_id)
                .build(),
        )
        .send()
        .await
        .expect("authorizer");
    gw.create_route()
        .api_id(&api_id)
        .route_key("GET /items/{id}")
        .target(&target)
        .authorization_type(AuthorizationType::Jwt)
        .authorizer_id(authorizer.authorizer_id().expect("id"))
        .send()
        .await
        .expect("route");
    gw.create_route()
        .api_id(&api_id)
        .route_key("GET /public")
        .target(&target)
        .send()
        .await
        .expect("route");

    let code_dir = zip_binary(env!("CARGO_BIN_EXE_probe-http"), "http")
        .parent()
        .expect("dir")
        .to_path_buf();
    let runner = emulator.runner(&name, vec![code_dir]).await;
    let base = runner
        .summary
        .apis
        .get(&api_id)
        .expect("the API is served")
        .clone();
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        request.send()
    };

    // THEN the public route answers without a token, with what the function saw
    let public = get("/public", None).await.expect("request");
    assert_eq!(public.status(), 200);
    assert_eq!(public.headers()["x-probe"], "1");
    let seen: Value = public.json().await.expect("json");
    assert_eq!(seen["routeKey"], "GET /public");
    assert!(seen["claims"].is_null());

    // AND the authorized route refuses no token, a garbage token and a token for another client, with 401
    let (id_token, _) =
        runner::token::token(aws, &pool_id, &app_id, "alice", "Local-Passw0rd!", None)
            .await
            .expect("token");
    let (other_token, _) =
        runner::token::token(aws, &pool_id, &other_id, "alice", "Local-Passw0rd!", None)
            .await
            .expect("token");
    for (what, token) in [
        ("no token", None),
        ("garbage", Some("x.y.z")),
        ("another client's token", Some(other_token.as_str())),
    ] {
        let refused = get("/items/chair-1", token).await.expect("request");
        assert_eq!(refused.status(), 401, "{what}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["message"], "Unauthorized", "{what}");
    }
    // AND a token with a tampered payload fails its signature check
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert_eq!(
        get("/items/chair-1", Some(&parts.join(".")))
            .await
            .expect("request")
            .status(),
        401
    );

    // AND lets the app's user in, with the claims and path parameters where API Gateway puts them
    let ok = get("/items/chair-1", Some(&id_token))
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    let seen: Value = ok.json().await.expect("json");
    assert_eq!(seen["routeKey"], "GET /items/{id}");
    assert_eq!(seen["pathParameters"]["id"], "chair-1");
    assert_eq!(seen["claims"]["aud"], app_id.as_str());
    assert_eq!(seen["claims"]["cognito:username"], "alice");
    assert!(
        seen["claims"]["exp"].is_string(),
        "claims are strings, as API Gateway passes them"
    );
    // AND an unknown route is a 404
    assert_eq!(get("/nope", None).await.expect("request").status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_one_time_schedule_is_sent_to_its_queue_and_deleted() {
    let emulator = Emulator::from_env().await;
    let aws = &emulator.aws;
    let (sqs, scheduler, lambda) = (
        aws_sdk_sqs::Client::new(aws),
        aws_sdk_scheduler::Client::new(aws),
        aws_sdk_lambda::Client::new(aws),
    );
    let name = unique("schedule");
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("url")
        .to_owned();
    let queue_arn = queue_arn(&sqs, &queue_url).await;
    scheduler
        .create_schedule_group()
        .name(&name)
        .send()
        .await
        .expect("group");
    // GIVEN a one-time schedule due in 2 s, deleted after completion (as the workers will make them)
    // Whole seconds: an at() expression has no finer time, so that is when it is due.
    let at =
        chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() + chrono::Duration::seconds(2), 0);
    let input =
        serde_json::json!({"reservationId": "r-1", "expiresAt": at.to_rfc3339()}).to_string();
    scheduler
        .create_schedule()
        .group_name(&name)
        .name("expire-r-1")
        .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .expect("window"),
        )
        .action_after_completion(ActionAfterCompletion::Delete)
        .target(
            Target::builder()
                .arn(&queue_arn)
                .role_arn(applied_role(&lambda, &emulator.workspace).await)
                .input(&input)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("schedule");

    let runner = emulator.runner(&name, vec![]).await;
    assert_eq!(runner.summary.schedule_groups, vec![name.clone()]);

    // THEN its input arrives in the queue, not before it is due, and the schedule is gone
    let message = eventually(
        Duration::from_secs(15),
        "the schedule fires into its queue",
        || async {
            let got = sqs
                .receive_message()
                .queue_url(&queue_url)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            got.messages().first().cloned()
        },
    )
    .await;
    assert!(chrono::Utc::now() >= at, "fired before it was due");
    assert_eq!(message.body(), Some(input.as_str()));
    eventually(
        Duration::from_secs(10),
        "the fired schedule is deleted",
        || async {
            let gone = scheduler
                .get_schedule()
                .group_name(&name)
                .name("expire-r-1")
                .send()
                .await
                .is_err();
            gone.then_some(())
        },
    )
    .await;
    // AND it fires once
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    assert!(again.messages().is_empty(), "fired twice");
}

/// The release `noop-lambda` scripts/package built beside the runner.
fn noop_lambda() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| e2e::repo_root().join("target"));
    let binary = target.join("release/noop-lambda");
    assert!(
        binary.exists(),
        "{} (scripts/package builds it)",
        binary.display()
    );
    binary
}

/// A 128 MB function of `noop-lambda` held by `limits`, and what it answers to touching `mb` MB.
struct Hog {
    function: runner::function::Function,
    _tasks: tokio::task::JoinSet<()>,
}

impl Hog {
    fn start(limits: runner::memory::MemoryLimits, label: &str) -> Self {
        let mut spec = runner::cold_start::bare_spec(&unique(label));
        spec.memory_mb = 128;
        let work = Emulator::work_dir(&spec.name);
        let dir =
            runner::cold_start::stage_binary(&noop_lambda(), &work.join("code")).expect("staged");
        let mut tasks = tokio::task::JoinSet::new();
        let env = runner::function::Environment::new("http://127.0.0.1:9", REGION, limits);
        let function =
            runner::function::Function::start(spec, dir, 1, env, &work.join("logs"), &mut tasks)
                .expect("function");
        Self {
            function,
            _tasks: tasks,
        }
    }

    async fn touch(&self, mb: u64) -> Result<Value, runner::function::InvokeError> {
        self.function
            .invoke(&serde_json::json!({ "touch_mb": mb }))
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_above_its_memory_size_is_killed_and_its_invocation_fails_as_in_lambda() {
    use runner::function::InvokeError;
    use runner::memory::{Mechanism, MemoryLimits};

    // GIVEN a 128 MB function held the best way this machine allows
    let limits = MemoryLimits::detect();
    let cgroup = matches!(
        limits.mechanism(),
        Mechanism::CgroupV1 { .. } | Mechanism::CgroupV2 { .. }
    );
    eprintln!("memory limits: {}", limits.describe());
    let hog = Hog::start(limits, "memory");
    // WHEN it touches 32 MB THEN it answers
    assert_eq!(
        hog.touch(32).await.expect("within its memory"),
        serde_json::json!({ "touched_mb": 32 })
    );
    // WHEN it touches 300 MB THEN its process is killed and the invocation fails, saying why
    let over = hog.touch(300).await.expect_err("above its memory");
    assert!(matches!(over, InvokeError::Exited(_)), "{over}");
    let stats = hog.function.stats();
    assert_eq!(stats.exits, 1, "{stats:?}");
    if cgroup {
        assert!(
            over.to_string()
                .contains("out of memory: above the function's memory_size of 128 MB"),
            "{over}"
        );
        assert_eq!(stats.out_of_memory, 1, "{stats:?}");
        let used = stats.max_memory_used_mb.expect("measured by the cgroup");
        assert!((120..=128).contains(&used), "max memory used {used} MB");
    }
    // AND the next invocation gets a fresh process, as Lambda starts a new sandbox
    assert_eq!(
        hog.touch(32).await.expect("a new process"),
        serde_json::json!({ "touched_mb": 32 })
    );

    // The fallback where no cgroup is writable: the allocation over the rlimit fails, and so does the invocation.
    let capped = Hog::start(MemoryLimits::rlimit(), "memory-rlimit");
    assert!(capped.touch(32).await.is_ok());
    let over = capped.touch(300).await.expect_err("above its rlimit");
    assert!(matches!(over, InvokeError::Exited(_)), "{over}");

    // Unlimited (`--memory-limits off`), the same 300 MB are touched: the limit is what failed it.
    let free = Hog::start(MemoryLimits::off(), "memory-off");
    assert_eq!(
        free.touch(300).await.expect("no limit"),
        serde_json::json!({ "touched_mb": 300 })
    );
}
