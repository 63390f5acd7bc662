//! SDK errors into [`ApiError`]: the AWS error code and message when the service answered, one
//! short line of causes when it did not. Credentials never appear.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use crate::ecr::api::ApiError;

pub fn from_sdk<E, R>(err: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            ApiError::Service {
                code: e.code().unwrap_or("Unknown").to_string(),
                message: e.message().unwrap_or("").to_string(),
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
