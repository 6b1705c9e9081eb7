//! The cold-start benchmark's baseline (`ecobid-runner cold-start --baseline`): what any Rust Lambda costs
//! before its own code, i.e. the process, the tokio runtime and `lambda_runtime` answering an event.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, lambda_runtime::Error>(Value::Null)
    }))
    .await
}
