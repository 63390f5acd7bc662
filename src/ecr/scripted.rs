//! A [`ScanApi`] that answers from a script, for unit tests of the steps without HTTP. Each call
//! takes the next scripted answer; the last answer of a call repeats, as a server that keeps
//! saying the same thing. Every call is logged so tests can assert what was asked.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::api::{ApiError, FindingsPage, ImageDetail, Manifest, RegistryScanning, ScanApi};
use crate::findings::{test_finding, Finding, Image, ScanInfo, ScanKind};

#[derive(Default)]
struct Script {
    describe: VecDeque<Result<ImageDetail, ApiError>>,
    pages: VecDeque<Result<FindingsPage, ApiError>>,
    manifests: VecDeque<Result<Manifest, ApiError>>,
    starts: VecDeque<Result<(), ApiError>>,
    puts: VecDeque<Result<(), ApiError>>,
    scan_type: VecDeque<Result<ScanKind, ApiError>>,
    /// Every findings page takes a day to answer.
    slow_pages: bool,
    calls: Vec<String>,
}

/// The scripted client; clones share one script.
#[derive(Clone, Default)]
pub struct Scripted(Arc<Mutex<Script>>);

fn next<T: Clone>(queue: &mut VecDeque<T>, what: &str) -> T {
    match queue.len() {
        0 => panic!("no scripted answer for {what}"),
        1 => queue[0].clone(),
        _ => queue.pop_front().expect("non-empty"),
    }
}

impl Scripted {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn describe(self, answer: Result<ImageDetail, ApiError>) -> Self {
        self.0.lock().unwrap().describe.push_back(answer);
        self
    }

    pub fn page(self, answer: Result<FindingsPage, ApiError>) -> Self {
        self.0.lock().unwrap().pages.push_back(answer);
        self
    }

    /// Findings pages that take a day: a server that accepts and never answers.
    pub fn slow_pages(self) -> Self {
        self.0.lock().unwrap().slow_pages = true;
        self
    }

    pub fn manifest(self, answer: Result<Manifest, ApiError>) -> Self {
        self.0.lock().unwrap().manifests.push_back(answer);
        self
    }

    pub fn put(self, answer: Result<(), ApiError>) -> Self {
        self.0.lock().unwrap().puts.push_back(answer);
        self
    }

    pub fn start(self, answer: Result<(), ApiError>) -> Self {
        self.0.lock().unwrap().starts.push_back(answer);
        self
    }

    pub fn scan_type(self, answer: Result<ScanKind, ApiError>) -> Self {
        self.0.lock().unwrap().scan_type.push_back(answer);
        self
    }

    /// Every call so far, e.g. `findings_page app@sha256:… token=t2`.
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap().calls.clone()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    fn log(&self, call: String) {
        self.0.lock().unwrap().calls.push(call);
    }
}

impl ScanApi for Scripted {
    async fn describe_image(&self, image: &Image) -> Result<ImageDetail, ApiError> {
        self.log(format!("describe_image {image}"));
        next(&mut self.0.lock().unwrap().describe, "describe_image")
    }

    async fn findings_page(
        &self,
        image: &Image,
        token: Option<&str>,
    ) -> Result<FindingsPage, ApiError> {
        self.log(format!(
            "findings_page {image} token={}",
            token.unwrap_or("-")
        ));
        let slow = self.0.lock().unwrap().slow_pages;
        if slow {
            tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
        }
        next(&mut self.0.lock().unwrap().pages, "findings_page")
    }

    async fn manifest(&self, image: &Image) -> Result<Manifest, ApiError> {
        self.log(format!("manifest {image}"));
        next(&mut self.0.lock().unwrap().manifests, "manifest")
    }

    /// Logged as `put_image <repo>@<digest> tag=<tag> type=<media type> <manifest bytes>`.
    async fn put_image(
        &self,
        image: &Image,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<(), ApiError> {
        self.log(format!(
            "put_image {image} tag={tag} type={} {}",
            manifest.media_type.as_deref().unwrap_or("-"),
            manifest.body
        ));
        next(&mut self.0.lock().unwrap().puts, "put_image")
    }

    async fn start_scan(&self, image: &Image) -> Result<(), ApiError> {
        self.log(format!("start_scan {image}"));
        next(&mut self.0.lock().unwrap().starts, "start_scan")
    }

    async fn registry_scanning(&self) -> Result<RegistryScanning, ApiError> {
        self.log("registry_scanning".to_string());
        let kind = next(&mut self.0.lock().unwrap().scan_type, "registry_scanning")?;
        Ok(RegistryScanning {
            registry_id: Some("123456789012".into()),
            kind,
        })
    }

    fn region(&self) -> &str {
        "us-east-1"
    }
}

/// A page with `status`, `n` HIGH findings named `{prefix}-{i}`, no counts, and a next token.
pub fn page(status: &str, prefix: &str, n: usize, next_token: Option<&str>) -> FindingsPage {
    let findings: Vec<Finding> = (0..n)
        .map(|i| test_finding(&format!("{prefix}-{i}"), "HIGH"))
        .collect();
    FindingsPage {
        scan: ScanInfo {
            kind: ScanKind::Basic,
            status: status.to_string(),
            description: None,
            completed_at: None,
        },
        basic_list: true,
        enhanced_list: false,
        // ECR repeats the whole image's counts on every page; tests that need them set them.
        counts: BTreeMap::new(),
        findings,
        next_token: next_token.map(str::to_string),
        server_date: None,
    }
}

pub fn service(code: &str) -> ApiError {
    let status = if code.starts_with("Server") || code.starts_with("ServiceUnavailable") {
        500
    } else {
        400
    };
    ApiError::Service {
        code: code.to_string(),
        message: format!("scripted {code}"),
        status,
    }
}

pub fn image() -> Image {
    Image {
        repository: "app/web".into(),
        digest: Some(format!("sha256:{}", "a".repeat(64))),
        ..Image::default()
    }
}

/// A registry with ECR's rate quota and a fixed latency: a token bucket of `rate` requests per
/// second, as many in a burst (one second's worth), shared by every call; a call beyond it is
/// answered `ThrottlingException` (after the same latency). Requests that arrive together are
/// answered in the order they came, 0.1 ms apart, as a real server's are: in a burst, the
/// throttled ones (the last to arrive) are answered last. Every image exists, its basic scan
/// COMPLETE with one HIGH finding. Counts every request, the throttled ones and the most in
/// flight at once.
#[derive(Clone)]
pub struct Quota(Arc<QuotaState>);

struct QuotaState {
    rate: Option<f64>,
    latency: std::time::Duration,
    /// Tokens left, as of when.
    bucket: Mutex<(f64, tokio::time::Instant)>,
    counts: Mutex<QuotaCounts>,
}

/// What a [`Quota`] server saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaCounts {
    pub requests: usize,
    pub throttled: usize,
    pub in_flight: usize,
    pub most_in_flight: usize,
}

impl QuotaCounts {
    pub fn throttled_share(&self) -> f64 {
        self.throttled as f64 / self.requests.max(1) as f64
    }
}

/// Takes a request off the server's count when its answer is sent or the caller gives up.
struct InFlight<'a>(&'a QuotaState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.counts.lock().unwrap().in_flight -= 1;
    }
}

impl Quota {
    /// `rate` requests per second (`None`: no quota), each answered after `latency`.
    pub fn new(rate: Option<u32>, latency: std::time::Duration) -> Self {
        let rate = rate.map(f64::from);
        Quota(Arc::new(QuotaState {
            rate,
            latency,
            bucket: Mutex::new((rate.unwrap_or(0.0), tokio::time::Instant::now())),
            counts: Mutex::new(QuotaCounts::default()),
        }))
    }

    pub fn counts(&self) -> QuotaCounts {
        *self.0.counts.lock().unwrap()
    }

    async fn answer<T>(&self, answer: T) -> Result<T, ApiError> {
        let state = &*self.0;
        let within = match state.rate {
            None => true,
            Some(rate) => {
                let mut bucket = state.bucket.lock().unwrap();
                let now = tokio::time::Instant::now();
                let tokens = (bucket.0 + (now - bucket.1).as_secs_f64() * rate).min(rate);
                let within = tokens >= 1.0;
                *bucket = (if within { tokens - 1.0 } else { tokens }, now);
                within
            }
        };
        let queued = {
            let mut counts = state.counts.lock().unwrap();
            counts.requests += 1;
            counts.throttled += usize::from(!within);
            counts.in_flight += 1;
            counts.most_in_flight = counts.most_in_flight.max(counts.in_flight);
            counts.in_flight as u32
        };
        let _in_flight = InFlight(state);
        tokio::time::sleep(state.latency + std::time::Duration::from_micros(100) * queued).await;
        if within {
            Ok(answer)
        } else {
            Err(ApiError::Service {
                code: "ThrottlingException".into(),
                message: "Rate exceeded".into(),
                status: 400,
            })
        }
    }
}

impl ScanApi for Quota {
    async fn describe_image(&self, image: &Image) -> Result<ImageDetail, ApiError> {
        let digest = format!("sha256:{:0>64}", image.repository.len());
        self.answer(ImageDetail {
            digest,
            registry_id: None,
            media_type: None,
        })
        .await
    }

    async fn findings_page(
        &self,
        image: &Image,
        _token: Option<&str>,
    ) -> Result<FindingsPage, ApiError> {
        self.answer(page("COMPLETE", &image.repository, 1, None))
            .await
    }

    async fn manifest(&self, _image: &Image) -> Result<Manifest, ApiError> {
        unimplemented!("the quota server holds no manifests")
    }

    async fn put_image(&self, _: &Image, _: &str, _: &Manifest) -> Result<(), ApiError> {
        unimplemented!("the quota server takes no images")
    }

    async fn start_scan(&self, _image: &Image) -> Result<(), ApiError> {
        self.answer(()).await
    }

    async fn registry_scanning(&self) -> Result<RegistryScanning, ApiError> {
        self.answer(RegistryScanning {
            registry_id: Some("123456789012".into()),
            kind: ScanKind::Basic,
        })
        .await
    }

    fn region(&self) -> &str {
        "us-east-1"
    }
}
