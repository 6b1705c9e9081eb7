//! Wiring only: parse the command line, build the SDK clients from the standard chain, run, and turn an
//! error into one line on stderr and a non-zero exit.

use std::process::ExitCode;

use clap::Parser;
use ops::cli::Cli;
use ops::commands::{run, Clients};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match start(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ecobid-ops: error: {}", domain::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}

async fn start(cli: Cli) -> Result<ExitCode, ops::error::OpsError> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&aws).await?;
    run(cli, clients).await
}
