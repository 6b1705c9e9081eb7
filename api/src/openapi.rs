//! Finishing touches on the generated document: title and version, the Cognito bearer scheme, and the problem
//! responses every operation can give (so the document lists every status the server answers).

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, OpenApi, Ref, ResponseBuilder, Type};
use utoipa::PartialSchema;

use domain::reservation::Role;

use crate::error::{InvalidField, Problem, PROBLEM_JSON};

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// A status API Gateway answers itself too (`{"message": "Unauthorized"}`: no token, no such route, throttled,
/// the function failed), beside our problem. Ours first: a client generator that reads one media type per
/// response (openapi-python-client takes the first it supports) then parses the answers the API's code gives.
fn gateway_or_problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(GATEWAY_MESSAGE)))
                .build(),
        )
        .build()
}

/// The schema of API Gateway's own answers.
const GATEWAY_MESSAGE: &str = "GatewayMessage";

fn gateway_message() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some(
            "An answer of API Gateway itself, not of the API's code",
        ))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("message")
}

fn add(operation: &mut Operation, code: &str, response: utoipa::openapi::Response) {
    operation
        .responses
        .responses
        .entry(code.to_owned())
        .or_insert(response.into());
}

pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "EcoBid API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "The REST API of the EcoBid mobile app. Errors are RFC 9457 problems (application/problem+json). \
         Every POST honours an Idempotency-Key header."
            .into(),
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("Problem".into(), Problem::schema());
    components
        .schemas
        .insert("InvalidField".into(), InvalidField::schema());
    components
        .schemas
        .insert(GATEWAY_MESSAGE.into(), gateway_message().into());
    // A type only a query parameter names is not collected from the handlers' bodies.
    components.schemas.insert("Role".into(), Role::schema());
    components.security_schemes.insert(
        "cognito".into(),
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("A Cognito token of the app's user pool client"))
                .build(),
        )
        .into(),
    );
    for item in doc.paths.paths.values_mut() {
        for (writes, operation) in [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (false, item.delete.as_mut()),
        ]
        .into_iter()
        .filter_map(|(writes, op)| Some((writes, op?)))
        {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = operation.request_body.is_some();
            add(operation, "400", problem("Malformed or invalid request"));
            add(
                operation,
                "404",
                gateway_or_problem("No such resource (or route)"),
            );
            add(
                operation,
                "429",
                gateway_or_problem("Throttled: retry after a second"),
            );
            add(
                operation,
                "500",
                gateway_or_problem("Our failure; nothing internal is shown"),
            );
            add(
                operation,
                "503",
                gateway_or_problem("Unavailable for a moment: retry"),
            );
            if secured {
                add(
                    operation,
                    "401",
                    gateway_or_problem("No token or a bad one (from the JWT authorizer)"),
                );
                add(
                    operation,
                    "403",
                    problem("Not a party to this resource, not a moderator, or a suspended account (the type says which)"),
                );
                add(
                    operation,
                    "409",
                    problem("The current state refuses the change (the type says why)"),
                );
                add(
                    operation,
                    "422",
                    problem("Understood but not allowed (own item, reused Idempotency-Key...)"),
                );
            }
            if writes {
                add(operation, "413", problem("Body over 64 KiB"));
            }
            if has_body {
                add(operation, "415", problem("Body is not application/json"));
            }
        }
    }
    doc
}
