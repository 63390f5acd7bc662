//! Building the SDK client: region, profile, endpoint and retry settings from flags over the
//! standard AWS configuration chain. One client per region, since full image URIs can name
//! several.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ecr::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_ecr::Client;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{RetryClassifierPriority, RetryReason};
use aws_smithy_types::retry::ErrorKind;

use super::SdkScanApi;
use crate::image_ref::Reference;

/// What the command line says about reaching AWS.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// `--region`: for references whose URI names none; else the AWS config chain.
    pub region: Option<String>,
    /// `--profile`: a named profile from `~/.aws/config`.
    pub profile: Option<String>,
    /// `--registry-id`: for references that name no registry.
    pub registry_id: Option<String>,
    /// `--endpoint-url`: a local emulator or test server instead of AWS.
    pub endpoint_url: Option<String>,
    /// `--max-attempts`: SDK attempts per call (standard retry mode).
    pub max_attempts: u32,
    /// The longest one attempt of a call may take: a slow answer is a transient fault.
    pub attempt_timeout: Duration,
}

/// One client per region the references name (or the default region).
pub struct Clients {
    by_region: BTreeMap<String, SdkScanApi>,
    default_region: Option<String>,
}

impl Clients {
    /// `Err` is a configuration problem (no region anywhere), found before any call.
    pub async fn new(settings: &AwsSettings, refs: &[Reference]) -> Result<Self, String> {
        let regions: Vec<Option<String>> = refs
            .iter()
            .map(|r| r.region.clone().or_else(|| settings.region.clone()))
            .collect();
        Self::of_regions(settings, regions).await
    }

    /// A client for the region of the flags and the AWS config chain (`audit`).
    pub async fn for_settings(settings: &AwsSettings) -> Result<Self, String> {
        Self::of_regions(settings, vec![settings.region.clone()]).await
    }

    async fn of_regions(
        settings: &AwsSettings,
        mut regions: Vec<Option<String>>,
    ) -> Result<Self, String> {
        regions.sort();
        regions.dedup();
        let mut by_region = BTreeMap::new();
        let mut default_region = None;
        for region in regions {
            let api = build(settings, region.clone()).await?;
            if region.is_none() {
                default_region = Some(api.region.clone());
            }
            by_region.insert(region.unwrap_or_else(|| api.region.clone()), api);
        }
        Ok(Clients {
            by_region,
            default_region,
        })
    }

    /// The client of an image's region (`None`: the default region), the one it was judged
    /// through; `None` for a region no client was built for.
    pub fn for_region(&self, region: Option<&str>) -> Option<SdkScanApi> {
        region
            .or(self.default_region.as_deref())
            .and_then(|r| self.by_region.get(r))
            .cloned()
    }

    /// The client for the reference's region.
    pub fn for_ref(&self, reference: &Reference) -> SdkScanApi {
        let region = reference
            .region
            .clone()
            .or_else(|| self.default_region.clone());
        let key = region
            .or_else(|| self.by_region.keys().next().cloned())
            .unwrap_or_default();
        self.by_region
            .get(&key)
            .or_else(|| self.by_region.values().next())
            .cloned()
            .expect("a client per region")
    }
}

/// Throttling is not retried inside a call: each throttled attempt comes back to the gate,
/// where the adaptive limit (`ecr::adaptive`) halves the calls in flight and `ecr::retry`
/// tries again. Retried inside the SDK, a throttle would hold its call slot and stay unseen.
/// Server errors and the network keep the SDK's `--max-attempts`.
#[derive(Debug)]
struct ThrottlingToTheGate;

impl ClassifyRetry for ThrottlingToTheGate {
    fn classify_retry(&self, _: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, _: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        match previous {
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: ErrorKind::ThrottlingError,
                ..
            }) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ThrottlingToTheGate"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After every default classifier, so it sees their verdict.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// The client of one region (`None`: the config chain's), for callers that meet regions as
/// they go (`serve`). `Err` when no region can be found.
pub async fn build(settings: &AwsSettings, region: Option<String>) -> Result<SdkScanApi, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(settings.attempt_timeout)
                .build(),
        );
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region.clone() {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    let region = config.region().map(|r| r.to_string()).filter(|r| !r.trim().is_empty()).ok_or_else(|| {
        "no AWS region: pass --region, set AWS_REGION (or a profile region), or use a full image URI".to_string()
    })?;
    tracing::debug!(%region, endpoint = settings.endpoint_url.as_deref().unwrap_or("default"), "ECR client ready");
    let conf = aws_sdk_ecr::config::Builder::from(&config)
        .retry_classifier(ThrottlingToTheGate)
        .build();
    Ok(SdkScanApi {
        client: Client::from_conf(conf),
        region,
        credentials: config.credentials_provider(),
    })
}
