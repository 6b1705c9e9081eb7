//! The backbone suite's HTTP probe: a Lambda behind an HTTP API (payload format 2.0) that answers with what
//! API Gateway handed it: the route, the path parameters, the JWT claims and the body.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

async fn echo(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let e = event.payload;
    let seen = json!({
        "routeKey": e["routeKey"],
        "pathParameters": e["pathParameters"],
        "claims": e["requestContext"]["authorizer"]["jwt"]["claims"],
        "body": e["body"],
        "requestId": event.context.request_id,
    });
    Ok(json!({
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-probe": "1"},
        "body": seen.to_string(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    Box::pin(lambda_runtime::run(service_fn(echo))).await
}
