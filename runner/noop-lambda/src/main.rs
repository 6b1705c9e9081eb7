//! The cold-start benchmark's baseline (`ecobid-runner cold-start --baseline`): what any Rust Lambda costs
//! before its own code, i.e. the process, the tokio runtime and `lambda_runtime` answering an event.
//!
//! Given `{"touch_mb": N}` it first allocates and writes N MB (and answers how many it touched): the runner's
//! test that a process above its function's memory_size is killed, as in Lambda.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let Some(mb) = event.payload.get("touch_mb").and_then(Value::as_u64) else {
            return Ok::<_, lambda_runtime::Error>(Value::Null);
        };
        // Written page by page, so the memory is resident, not just reserved.
        let mut touched: Vec<Vec<u8>> = Vec::new();
        for _ in 0..mb {
            touched.push(vec![1u8; 1 << 20]);
        }
        let sum: u64 = touched
            .iter()
            .map(|chunk| u64::from(chunk[chunk.len() - 1]))
            .sum();
        Ok(json!({ "touched_mb": sum }))
    }))
    .await
}
