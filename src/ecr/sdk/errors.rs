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
        _ => {
            let detail = chain(&err);
            match credentials_problem(&detail) {
                Some(message) => {
                    tracing::debug!(chain = %detail, "credential providers");
                    ApiError::Credentials(message)
                }
                None => ApiError::Transport(detail),
            }
        }
    }
}

/// One line a person can act on for the credential chain's failures, which the SDK words as
/// every provider's answer in a row.
fn credentials_problem(detail: &str) -> Option<String> {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("profile")
        && (lower.contains("was not defined") || lower.contains("could not find profile"))
    {
        return Some(
            "the AWS profile asked for (--profile or AWS_PROFILE) is not in ~/.aws/config or ~/.aws/credentials: \
             check its name, or run `aws configure sso` (-v shows the provider chain)"
                .to_string(),
        );
    }
    if lower.contains("no credentials found")
        || lower.contains("credentials provider was not enabled")
        || lower.contains("credential provider was not enabled")
    {
        return Some(
            "no AWS credentials found (looked in the environment, the profile, web identity, ECS and IMDS): set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile (after `aws sso login`), or give the CI job \
             a role (GitHub OIDC: aws-actions/configure-aws-credentials) (-v shows the provider chain)"
                .to_string(),
        );
    }
    if lower.contains("expired") && lower.contains("token") {
        return Some(
            "the AWS session token has expired: refresh the credentials (aws sso login, or re-run the CI role step) \
             (-v shows the provider chain)"
                .to_string(),
        );
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_chain_becomes_one_line_to_act_on() {
        let chain = "dispatch failure: other: the credential provider was not enabled: no credentials found in chain. \
                     Attempted:   Environment: the credential provider was not enabled   Profile: …";
        let message = credentials_problem(chain).unwrap();
        assert!(message.starts_with("no AWS credentials found"), "{message}");
        assert!(!message.contains("Attempted"), "{message}");
        let profile = credentials_problem(
            "ProfileFile provider could not be built: profile `ci` was not defined",
        );
        assert!(profile.unwrap().contains("--profile"));
        assert_eq!(credentials_problem("connection refused"), None);
    }
}
