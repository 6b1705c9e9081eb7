//! `ecobid-runner`: `serve` plays the applied stack (functions, mappings, APIs, distributions, schedules)
//! until interrupted; `token` prints a user's token;
//! `cold-start` measures each applied function's init and first invocation against a baseline Lambda.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    about = "Runs Lambda functions and plays what invokes them, from what Terraform applied to the emulator"
)]
struct Cli {
    /// The emulator's endpoint.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        global = true,
        default_value = "http://127.0.0.1:4566"
    )]
    endpoint: String,
    #[arg(long, env = "AWS_REGION", global = true, default_value = "eu-west-1")]
    region: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the functions whose name starts with PREFIX and play their mappings, APIs, distributions and
    /// schedules.
    Serve {
        #[arg(long, default_value = "")]
        prefix: String,
        /// A directory of deployment zips (repeatable).
        #[arg(long = "code-dir", required = true)]
        code_dirs: Vec<PathBuf>,
        #[arg(long, default_value = ".local/runner")]
        work_dir: PathBuf,
        /// Port of the (first) HTTP API; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        api_port: u16,
        /// Port of the (first) CloudFront distribution's local edge; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        cdn_port: u16,
        /// Hold each function process to its memory_size, as Lambda does (auto: the best way this machine
        /// allows, cgroup v2, cgroup v1 or an rlimit), or not at all.
        #[arg(long, value_enum, env = "ECOBID_MEMORY_LIMITS", default_value_t = Limits::Auto)]
        memory_limits: Limits,
    },
    /// Start each applied function (whose name starts with PREFIX) fresh ROUNDS times behind a local Runtime
    /// API and print its init (exec to first /next) and first-invocation times, beside BASELINE's.
    ColdStart {
        #[arg(long, default_value = "")]
        prefix: String,
        /// A directory of deployment zips (repeatable).
        #[arg(long = "code-dir", required = true)]
        code_dirs: Vec<PathBuf>,
        #[arg(long, default_value = ".local/cold-start")]
        work_dir: PathBuf,
        /// The baseline Lambda binary (noop-lambda, release build).
        #[arg(long)]
        baseline: PathBuf,
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..=100))]
        rounds: u16,
        #[arg(long, value_enum, env = "ECOBID_MEMORY_LIMITS", default_value_t = Limits::Auto)]
        memory_limits: Limits,
    },
    /// Create (or reuse) a user in the user pool and print a token for it.
    Token {
        #[arg(long)]
        user_pool_id: String,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "Local-Passw0rd!")]
        password: String,
        #[arg(long)]
        email: Option<String>,
        /// Print the access token instead of the ID token.
        #[arg(long)]
        access: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Limits {
    Auto,
    Off,
}

impl Limits {
    fn resolve(self) -> runner::memory::MemoryLimits {
        match self {
            Limits::Auto => runner::memory::MemoryLimits::detect(),
            Limits::Off => runner::memory::MemoryLimits::off(),
        }
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            prefix,
            code_dirs,
            work_dir,
            api_port,
            cdn_port,
            memory_limits,
        } => {
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .init();
            let options = runner::Options {
                endpoint: cli.endpoint,
                region: cli.region,
                prefix,
                code_dirs,
                work_dir,
                api_port,
                cdn_port,
                memory_limits: memory_limits.resolve(),
            };
            let runner = runner::start(options).await?;
            println!("{}", serde_json::to_string(&runner.summary)?);
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            // Dropping the runner kills the functions' processes.
            drop(runner);
            Ok(())
        }
        Command::ColdStart {
            prefix,
            code_dirs,
            work_dir,
            baseline,
            rounds,
            memory_limits,
        } => {
            let options = runner::Options {
                endpoint: cli.endpoint,
                region: cli.region,
                prefix,
                code_dirs,
                work_dir,
                api_port: 0,
                cdn_port: 0,
                memory_limits: memory_limits.resolve(),
            };
            print!(
                "{}",
                runner::cold_start(options, &baseline, rounds.into()).await?
            );
            Ok(())
        }
        Command::Token {
            user_pool_id,
            client_id,
            username,
            password,
            email,
            access,
        } => {
            let aws = runner::sdk_config(&cli.endpoint, &cli.region).await;
            let (id, access_token) = runner::token::token(
                &aws,
                &user_pool_id,
                &client_id,
                &username,
                &password,
                email.as_deref(),
            )
            .await?;
            println!("{}", if access { access_token } else { id });
            Ok(())
        }
    }
}
