//! Turning SDK errors into messages a person can act on: the AWS error code, what it means
//! here, and for access denied the IAM action that is missing. Credentials never appear.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use crate::findings::ImageError;

/// A failed call, classified once so callers can match on what matters to the waiter.
#[derive(Debug)]
pub enum CallError {
    /// The service answered with an error code.
    Service { code: String, message: String },
    /// No usable answer: network, timeout, credentials, or an unreadable response.
    Transport(String),
}

impl CallError {
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                CallError::Service {
                    code: e.code().unwrap_or("Unknown").to_string(),
                    message: e.message().unwrap_or("").to_string(),
                }
            }
            _ => CallError::Transport(chain(&err)),
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Service { code, .. } => Some(code),
            CallError::Transport(_) => None,
        }
    }

    /// Worth trying again ourselves (throttling, server errors, network): the SDK's own retries
    /// were off or exhausted for this call.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Service { code, .. } => {
                matches!(
                    code.as_str(),
                    "ThrottlingException"
                        | "ServerException"
                        | "ServiceUnavailableException"
                        | "InternalFailure"
                )
            }
            CallError::Transport(_) => true,
        }
    }

    /// The exit-4 error for `action` (an IAM action such as `ecr:DescribeImages`).
    pub fn into_image_error(self, action: &str, what: &str) -> ImageError {
        ImageError::aws(match self {
            CallError::Service { code, message } => {
                let hint = hint(&code, action);
                let message = if message.is_empty() { String::new() } else { format!(": {message}") };
                format!("{action} failed for {what}: {code}{message}{hint}")
            }
            CallError::Transport(detail) => format!(
                "{action} failed for {what}: no usable answer from ECR after retries ({detail}); check the network, \
                 the endpoint and that AWS credentials are available"
            ),
        })
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

fn hint(code: &str, action: &str) -> String {
    match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => format!(
            " — the caller's IAM policy must allow {action} on this repository (ecr-scan-gate needs \
             ecr:DescribeImages, ecr:DescribeImageScanFindings, ecr:BatchGetImage and, with --start-scan, ecr:StartImageScan)"
        ),
        "RepositoryNotFoundException" => {
            " — check the repository name, --registry-id and --region".to_string()
        }
        "ImageNotFoundException" => " — check the tag or digest; was the image pushed to this repository?".to_string(),
        "ExpiredTokenException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
            " — the AWS credentials are expired or invalid; refresh them (aws sso login, or the CI role)".to_string()
        }
        "ThrottlingException" | "LimitExceededException" => {
            " — ECR kept throttling after every retry; raise --max-attempts or check more images with lower --concurrency".to_string()
        }
        _ => String::new(),
    }
}
