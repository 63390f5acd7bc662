//! SDK errors into [`ApiError`]: the AWS error code and message when the service answered, one
//! short line of causes when it did not. Credentials never appear.

use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use crate::ecr::api::ApiError;

/// An error of one call. A service error keeps its HTTP status, so a 5xx whose body is not
/// AWS JSON (a proxy's HTML 502) is still known to be transient.
pub fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            ApiError::Service {
                code: e
                    .code()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP {status}")),
                message: e.message().unwrap_or("").to_string(),
                status,
            }
        }
        _ => ApiError::Transport(chain(&err)),
    }
}

/// The error and its causes, one short phrase each (the SDK's Debug forms run to pages).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
