//! SDK errors are classified here and nowhere else (STYLE.md §4): transient ones are worth retrying
//! (timeouts, dispatch failures, throttling, 5xx), the rest are permanent (validation and other 4xx, requests
//! that could not be built). The SDK has already retried transient ones itself (standard mode).

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use domain::store::StoreError;

/// Whether retrying the same call later can succeed, and whether the service asked to slow down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The service is throttling (a throttling code, or 429): retry later, and slower.
    Throttled,
    /// A timeout, a dispatch failure, a 5xx: retry later.
    Transient,
    Permanent,
}

impl Retry {
    pub fn is_retryable(self) -> bool {
        !matches!(self, Retry::Permanent)
    }
}

/// Throttling codes the SDK's list lacks: SNS answers `ThrottledException` with the query code `Throttled`
/// (found by the notifications suite: a throttled Publish was classified permanent and its push dropped).
const MORE_THROTTLING_ERRORS: &[&str] = &["Throttled"];

/// Classifies an SDK error without stringifying it first.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Retry {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Retry::Transient
        }
        SdkError::ConstructionFailure(_) => Retry::Permanent,
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or_default();
            if THROTTLING_ERRORS.contains(&code)
                || MORE_THROTTLING_ERRORS.contains(&code)
                || status == 429
            {
                Retry::Throttled
            } else if TRANSIENT_ERRORS.contains(&code) || status >= 500 {
                Retry::Transient
            } else {
                Retry::Permanent
            }
        }
        // A kind of failure this SDK release does not name: let the redrive policy be the backstop.
        _ => Retry::Transient,
    }
}

/// An SDK error as the domain's [`StoreError`]: throttling, or a failure with its retryability and its causes on
/// one line.
pub fn to_store_error<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(&err) {
        Retry::Throttled => StoreError::Throttled,
        Retry::Transient => StoreError::transient(domain::error::chain(&err)),
        Retry::Permanent => StoreError::permanent(domain::error::chain(&err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::send_message::SendMessageError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str, status: u16) -> SdkError<SendMessageError, HttpResponse> {
        let err = SendMessageError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("from the service")
                .build(),
        );
        let raw = HttpResponse::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::empty(),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn throttling_is_transient_whatever_the_status() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "SlowDown",
            "Throttled",
        ] {
            assert_eq!(
                classify(&service_error(code, 400)),
                Retry::Throttled,
                "{code}"
            );
        }
    }

    #[test]
    fn server_errors_and_429_are_transient() {
        assert_eq!(
            classify(&service_error("InternalError", 500)),
            Retry::Transient
        );
        assert_eq!(
            classify(&service_error("ServiceUnavailable", 503)),
            Retry::Transient
        );
        assert_eq!(classify(&service_error("Whatever", 429)), Retry::Throttled);
        assert!(Retry::Throttled.is_retryable() && Retry::Transient.is_retryable());
        assert!(!Retry::Permanent.is_retryable());
        assert_eq!(
            classify(&service_error("RequestTimeout", 400)),
            Retry::Transient
        );
    }

    #[test]
    fn validation_and_other_client_errors_are_permanent() {
        assert_eq!(
            classify(&service_error("ValidationException", 400)),
            Retry::Permanent
        );
        assert_eq!(
            classify(&service_error(
                "AWS.SimpleQueueService.NonExistentQueue",
                400
            )),
            Retry::Permanent
        );
        assert_eq!(
            classify(&service_error("AccessDenied", 403)),
            Retry::Permanent
        );
        assert_eq!(
            classify(&service_error("ConditionalCheckFailedException", 400)),
            Retry::Permanent
        );
    }

    #[test]
    fn timeouts_and_dispatch_failures_are_transient() {
        let timeout: SdkError<SendMessageError, HttpResponse> =
            SdkError::timeout_error("operation timed out");
        assert_eq!(classify(&timeout), Retry::Transient);
        let dispatch: SdkError<SendMessageError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection reset".into()));
        assert_eq!(classify(&dispatch), Retry::Transient);
    }

    #[test]
    fn store_errors_carry_their_retryability() {
        assert_eq!(
            to_store_error(service_error("ProvisionedThroughputExceededException", 400)),
            StoreError::Throttled
        );
        let unavailable = to_store_error(service_error("InternalServerError", 500));
        assert!(unavailable.is_transient(), "{unavailable:?}");
        let denied = to_store_error(service_error("AccessDeniedException", 400));
        assert!(!denied.is_transient(), "{denied:?}");
        assert!(
            denied.to_string().contains("AccessDeniedException"),
            "{denied}"
        );
    }

    #[test]
    fn a_request_that_cannot_be_built_is_permanent() {
        let err: SdkError<SendMessageError, HttpResponse> =
            SdkError::construction_failure("missing queue url");
        assert_eq!(classify(&err), Retry::Permanent);
    }
}
