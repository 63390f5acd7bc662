//! SDK errors into [`ApiError`]: the AWS error code and message when the service answered, one
//! short line of causes when it did not. Credentials never appear.

use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use aws_credential_types::provider::error::CredentialsError;

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
            let code = e
                .code()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}"));
            let message = safe_message(&code, e.message().unwrap_or(""));
            ApiError::Service {
                code,
                message,
                status,
            }
        }
        _ => {
            let detail = chain(&err);
            match credentials_failure(&err) {
                Some(kind) => {
                    tracing::debug!(chain = %detail, "credential providers");
                    ApiError::Credentials(credentials_message(kind, &detail))
                }
                None => ApiError::Transport(detail),
            }
        }
    }
}

/// How the credential chain failed, found by type in the error's causes (its wording varies
/// between providers and releases). A provider that timed out may answer next time; every
/// other failure will not, so it is not retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CredentialsFailure {
    NotLoaded,
    Refused,
}

fn credentials_failure(err: &(dyn std::error::Error + 'static)) -> Option<CredentialsFailure> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return match c {
                CredentialsError::ProviderTimedOut(_) => None,
                CredentialsError::CredentialsNotLoaded(_) => Some(CredentialsFailure::NotLoaded),
                _ => Some(CredentialsFailure::Refused),
            };
        }
        current = e.source();
    }
    None
}

fn credentials_message(kind: CredentialsFailure, detail: &str) -> String {
    match (kind, credentials_problem(detail)) {
        (_, Some(message)) => message,
        (CredentialsFailure::NotLoaded, None) => credentials_problem("no credentials found")
            .expect("the no-credentials message"),
        (CredentialsFailure::Refused, None) => format!(
            "the AWS credential provider failed: {}; for web identity (GitHub or GitLab OIDC) check AWS_ROLE_ARN \
             and the role's trust policy (-v shows the provider chain)",
            last_cause(detail)
        ),
    }
}

/// The innermost cause of a `: `-joined chain: what actually went wrong.
fn last_cause(detail: &str) -> &str {
    detail.rsplit(": ").next().unwrap_or(detail)
}

/// A service message fit to print and to put in reports. AWS signature errors quote the
/// canonical request, session token included: those messages are dropped, and any credential
/// material another message quotes is cut.
fn safe_message(code: &str, message: &str) -> String {
    if matches!(code, "InvalidSignatureException" | "SignatureDoesNotMatch") {
        return "the request signature was not accepted (check the clock and any proxy that rewrites headers)"
            .to_string();
    }
    let mut safe = message;
    for marker in [
        "The Canonical String",
        "x-amz-security-token",
        "Credential=",
        "Signature=",
    ] {
        if let Some(at) = safe.find(marker) {
            safe = &safe[..at];
        }
    }
    safe.trim_end().to_string()
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

    #[test]
    fn credential_failures_are_found_by_type_whatever_their_wording() {
        let not_loaded = CredentialsError::not_loaded("nothing anywhere");
        assert_eq!(
            credentials_failure(&not_loaded),
            Some(CredentialsFailure::NotLoaded)
        );
        let refused =
            CredentialsError::provider_error("AccessDenied: not authorized to assume the role");
        assert_eq!(
            credentials_failure(&refused),
            Some(CredentialsFailure::Refused)
        );
        let message =
            credentials_message(CredentialsFailure::Refused, "a: b: AccessDenied from STS");
        assert!(
            message.contains("AccessDenied from STS") && message.contains("trust policy"),
            "{message}"
        );
        let timed_out = CredentialsError::provider_timed_out(std::time::Duration::from_secs(5));
        assert_eq!(credentials_failure(&timed_out), None, "a timeout may clear");
    }

    #[test]
    fn service_messages_never_carry_credential_material() {
        let quoted = "The request signature we calculated does not match. The Canonical String for this request should have been 'POST / x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN'";
        assert!(!safe_message("InvalidSignatureException", quoted).contains("IQoJ"));
        let cut = safe_message("SomethingElse", quoted);
        assert!(
            !cut.contains("IQoJ") && cut.starts_with("The request signature"),
            "{cut}"
        );
        assert_eq!(
            safe_message("RepositoryNotFoundException", "no repo"),
            "no repo"
        );
    }
}
