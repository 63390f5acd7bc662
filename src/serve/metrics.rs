//! What `GET /metrics` exposes (Prometheus text, `prometheus-client`): decisions by result,
//! decision latency, cache hits and misses, and every ECR call and error by kind, counted by
//! [`Counted`], a [`ScanApi`] wrapper around the client each review uses.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::ecr::api::{ApiError, FindingsPage, ImageDetail, Manifest, RegistryScanning};
use crate::ecr::retry::{self, Fault};
use crate::ecr::ScanApi;
use crate::findings::Image;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabel {
    operation: &'static str,
    kind: &'static str,
}

/// Every metric, cheap to clone; clones count into the same series.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    decisions: Family<ResultLabel, Counter>,
    latency: Histogram,
    hits: Counter,
    misses: Counter,
    calls: Family<CallLabel, Counter>,
    errors: Family<ErrorLabel, Counter>,
    bad_requests: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let decisions = Family::<ResultLabel, Counter>::default();
        // 1 ms to 8 s: a cache hit is well under a millisecond of judging, a miss a few ECR
        // round trips, the last bucket the default --decision-timeout.
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let (hits, misses, bad_requests) =
            (Counter::default(), Counter::default(), Counter::default());
        let calls = Family::<CallLabel, Counter>::default();
        let errors = Family::<ErrorLabel, Counter>::default();
        let mut registry = Registry::with_prefix("ecr_scan_gate");
        registry.register(
            "decisions",
            "Admission reviews answered, by result",
            decisions.clone(),
        );
        registry.register(
            "decision_duration_seconds",
            "Time from a review's arrival to its answer",
            latency.clone(),
        );
        registry.register(
            "cache_hits",
            "Images whose judged scan was reused, by digest",
            hits.clone(),
        );
        registry.register(
            "cache_misses",
            "Images whose scan was read from ECR",
            misses.clone(),
        );
        registry.register(
            "ecr_calls",
            "ECR API calls made, by operation",
            calls.clone(),
        );
        registry.register(
            "ecr_errors",
            "ECR API calls that failed, by operation and kind",
            errors.clone(),
        );
        registry.register(
            "bad_requests",
            "Requests to /validate that were no AdmissionReview (HTTP 400)",
            bad_requests.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            decisions,
            latency,
            hits,
            misses,
            calls,
            errors,
            bad_requests,
        }
    }
}

impl Metrics {
    /// One review answered.
    pub fn decided(&self, result: super::decide::Admission, took: Duration) {
        self.decisions
            .get_or_create(&ResultLabel {
                result: result.as_str(),
            })
            .inc();
        self.latency.observe(took.as_secs_f64());
    }

    /// A judged scan reused, or read.
    pub fn cache(&self, hit: bool) {
        if hit { &self.hits } else { &self.misses }.inc();
    }

    /// A body that was no AdmissionReview.
    pub fn bad_request(&self) {
        self.bad_requests.inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    fn count<T>(&self, operation: &'static str, result: &Result<T, ApiError>) {
        self.calls.get_or_create(&CallLabel { operation }).inc();
        if let Err(error) = result {
            self.errors
                .get_or_create(&ErrorLabel {
                    operation,
                    kind: kind(error),
                })
                .inc();
        }
    }
}

/// The error kinds an operator acts on differently.
fn kind(error: &ApiError) -> &'static str {
    match error {
        ApiError::Transport(_) => "transport",
        ApiError::Credentials(_) => "credentials",
        ApiError::BadAnswer(_) => "bad_answer",
        ApiError::Service { code, .. } => match retry::classify(error) {
            Fault::Throttling => "throttling",
            Fault::Transient => "server",
            Fault::Permanent if code == "AccessDeniedException" => "access_denied",
            Fault::Permanent if code.ends_with("NotFoundException") => "not_found",
            Fault::Permanent => "other",
        },
    }
}

/// `inner`, with each call and failure counted.
#[derive(Clone)]
pub struct Counted<A> {
    inner: A,
    metrics: Metrics,
}

impl<A> Counted<A> {
    /// Counts `inner`'s calls into `metrics`.
    pub fn new(inner: A, metrics: Metrics) -> Self {
        Counted { inner, metrics }
    }
}

impl<A: ScanApi> ScanApi for Counted<A> {
    async fn describe_image(&self, image: &Image) -> Result<ImageDetail, ApiError> {
        let result = self.inner.describe_image(image).await;
        self.metrics.count("DescribeImages", &result);
        result
    }

    async fn findings_page(
        &self,
        image: &Image,
        token: Option<&str>,
    ) -> Result<FindingsPage, ApiError> {
        let result = self.inner.findings_page(image, token).await;
        self.metrics.count("DescribeImageScanFindings", &result);
        result
    }

    async fn manifest(&self, image: &Image) -> Result<Manifest, ApiError> {
        let result = self.inner.manifest(image).await;
        self.metrics.count("BatchGetImage", &result);
        result
    }

    async fn put_image(
        &self,
        image: &Image,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<(), ApiError> {
        let result = self.inner.put_image(image, tag, manifest).await;
        self.metrics.count("PutImage", &result);
        result
    }

    async fn start_scan(&self, image: &Image) -> Result<(), ApiError> {
        let result = self.inner.start_scan(image).await;
        self.metrics.count("StartImageScan", &result);
        result
    }

    async fn registry_scanning(&self) -> Result<RegistryScanning, ApiError> {
        let result = self.inner.registry_scanning().await;
        self.metrics
            .count("GetRegistryScanningConfiguration", &result);
        result
    }

    fn region(&self) -> &str {
        self.inner.region()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_series_an_operator_alerts_on() {
        let metrics = Metrics::default();
        metrics.decided(
            super::super::decide::Admission::Refused,
            Duration::from_millis(3),
        );
        metrics.cache(true);
        metrics.cache(false);
        metrics.count::<()>(
            "DescribeImages",
            &Err(ApiError::Service {
                code: "ThrottlingException".into(),
                message: String::new(),
                status: 400,
            }),
        );
        let text = metrics.render();
        for line in [
            "ecr_scan_gate_decisions_total{result=\"refused\"} 1",
            "ecr_scan_gate_cache_hits_total 1",
            "ecr_scan_gate_cache_misses_total 1",
            "ecr_scan_gate_ecr_calls_total{operation=\"DescribeImages\"} 1",
            "ecr_scan_gate_ecr_errors_total{operation=\"DescribeImages\",kind=\"throttling\"} 1",
            "ecr_scan_gate_decision_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }

    #[test]
    fn error_kinds() {
        let service = |code: &str, status| ApiError::Service {
            code: code.into(),
            message: String::new(),
            status,
        };
        assert_eq!(
            kind(&service("AccessDeniedException", 400)),
            "access_denied"
        );
        assert_eq!(kind(&service("ImageNotFoundException", 400)), "not_found");
        assert_eq!(kind(&service("InternalFailure", 500)), "server");
        assert_eq!(kind(&ApiError::Transport("timeout".into())), "transport");
    }
}
