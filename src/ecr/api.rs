//! The seam between the gate's steps and AWS: [`ScanApi`] is every ECR call the gate makes,
//! in the project's own types. The SDK client implements it (`ecr::sdk`, the only code that
//! imports `aws_sdk_ecr`); resolve, wait and fetch are plain loops over it, so their unit tests
//! script the answers with no HTTP at all.

use std::collections::BTreeMap;
use std::future::Future;

use crate::findings::status::Lists;
use crate::findings::{Finding, Image, ImageError, ScanInfo, ScanKind};

/// `DescribeImages` for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDetail {
    /// `imageDigest`: what every later call for this image asks about.
    pub digest: String,
    /// `registryId`: the account that holds the image.
    pub registry_id: Option<String>,
    /// The manifest (or artifact) media type, to spot a multi-arch image index.
    pub media_type: Option<String>,
}

/// `BatchGetImage`: one manifest exactly as ECR stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// `imageManifest`, verbatim: an index's platforms are read from it, and promotion puts
    /// these very bytes back under a new tag (their sha256 is the digest judged).
    pub body: String,
    /// `imageManifestMediaType`: tells an image index from a single image.
    pub media_type: Option<String>,
}

/// Every manifest media type ECR stores. `BatchGetImage` converts a manifest to a type the
/// caller accepts when its own is not among them (Docker v2 to schema 1, for one): asking for
/// all of them gets the stored bytes, whose digest is the one judged.
pub const MANIFEST_TYPES: [&str; 6] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
];

/// One `DescribeImageScanFindings` page, already in the project's model.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingsPage {
    /// The scan's type, status and completion time, as of this page.
    pub scan: ScanInfo,
    /// Whether `imageScanFindings.findings` (basic) was in the answer: absent is not "clean".
    pub basic_list: bool,
    /// Whether `imageScanFindings.enhancedFindings` was in the answer: until Inspector has
    /// delivered, an enhanced scan answers without it.
    pub enhanced_list: bool,
    /// This page's findings, basic and enhanced alike.
    pub findings: Vec<Finding>,
    /// ECR's `findingSeverityCounts`, labels as ECR writes them.
    pub counts: BTreeMap<String, u64>,
    /// `nextToken`: `None` on the last page.
    pub next_token: Option<String>,
    /// ECR's clock when it answered (the HTTP `Date` header), RFC 3339 in UTC: how long ago the
    /// scan completed is measured on it, since the runner's clock may be off. `None` when the
    /// answer carried no readable `Date`.
    pub server_date: Option<String>,
}

impl FindingsPage {
    /// The findings lists this answer carried.
    pub fn lists(&self) -> Lists {
        Lists {
            basic: self.basic_list,
            enhanced: self.enhanced_list,
        }
    }
}

/// One page of a listing (`DescribeRepositories`, `DescribeImages` of a repository).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// `nextToken`: `None` on the last page.
    pub next_token: Option<String>,
}

/// A tagged image as `DescribeImages` lists it, for `audit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// `imageDigest`.
    pub digest: String,
    /// `imageTags`.
    pub tags: Vec<String>,
    /// `imagePushedAt`, epoch seconds.
    pub pushed_at: Option<i64>,
}

/// `GetRegistryScanningConfiguration`: which registry answered, and how it scans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryScanning {
    /// The registry the configuration belongs to (the caller's own).
    pub registry_id: Option<String>,
    /// Basic or enhanced scanning.
    pub kind: ScanKind,
}

/// A failed call, classified once so the steps can match on what matters to them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error code (and the HTTP status it came with).
    #[error("{code}: {message}")]
    Service {
        /// The AWS error code, e.g. `ThrottlingException` (`HTTP 502` when the body had none).
        code: String,
        /// The service's own message.
        message: String,
        /// The HTTP status: any 5xx is transient whatever the body says.
        status: u16,
    },
    /// No answer: network, timeout, or a response that could not be read.
    #[error("{0}")]
    Transport(String),
    /// No credentials to sign with, or a profile that does not exist: asking again cannot help.
    /// The message says what to set; the provider chain's own words are logged at `-v`.
    #[error("{0}")]
    Credentials(String),
    /// An answer the gate cannot use (empty, a field missing, a refusal inside a 200): the
    /// message is complete and says what was wrong. Never a pass.
    #[error("{0}")]
    BadAnswer(String),
}

impl ApiError {
    /// A `DescribeImageScanFindings` answer missing `what`.
    pub fn malformed_findings(image: &Image, what: &str) -> ApiError {
        ApiError::BadAnswer(format!(
            "ecr:DescribeImageScanFindings answered without {what} for {image}: an empty or malformed response is never a pass"
        ))
    }

    /// The AWS error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// ECR said "slow down": the rate quota, not a fault (see [`super::retry::classify`]).
    pub fn is_throttling(&self) -> bool {
        super::retry::classify(self) == super::retry::Fault::Throttling
    }

    /// Worth trying again: throttling, a server error or the network.
    pub fn is_transient(&self) -> bool {
        super::retry::classify(self) != super::retry::Fault::Permanent
    }

    /// The exit-4 error for `action` (an IAM action such as `ecr:DescribeImages`) on `what`.
    pub fn into_image_error(self, action: &str, what: &Image) -> ImageError {
        ImageError::aws(match self {
            ApiError::Service { code, message, .. } => {
                let hint = hint(&code, action);
                let message = if message.is_empty() { String::new() } else { format!(": {message}") };
                format!("{action} failed for {what}: {code}{message}{hint}")
            }
            ApiError::Transport(detail) => format!(
                "{action} failed for {what}: no usable answer from ECR after retries ({detail}); check the network, \
                 the endpoint and that AWS credentials are available"
            ),
            ApiError::BadAnswer(message) | ApiError::Credentials(message) => message,
        })
    }
}

fn hint(code: &str, action: &str) -> String {
    match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => format!(
            " — the caller's IAM policy must allow {action} on this repository (ecr-scan-gate needs \
             ecr:DescribeImages, ecr:DescribeImageScanFindings, ecr:BatchGetImage, with --start-scan ecr:StartImageScan, \
             and with --promote-tag ecr:PutImage)"
        ),
        "ImageTagAlreadyExistsException" => {
            " — the repository's tags are immutable and this tag is already on another image: promote with a new tag, \
             or let this tag move (imageTagMutability MUTABLE, or a mutability exclusion filter for it)"
                .to_string()
        }
        "ImageDigestDoesNotMatchException" => {
            " — ECR computed another digest for the manifest bytes read from it: nothing was tagged".to_string()
        }
        "RepositoryNotFoundException" => {
            " — check the repository name, --registry-id and --region".to_string()
        }
        "ImageNotFoundException" => " — check the tag or digest; was the image pushed to this repository?".to_string(),
        "ExpiredTokenException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
            " — the AWS credentials are expired or invalid; refresh them (aws sso login, or the CI role)".to_string()
        }
        "ThrottlingException" | "LimitExceededException" => {
            " — ECR kept throttling until the deadline; raise --timeout, or check fewer images at once (lower --concurrency)".to_string()
        }
        _ => String::new(),
    }
}

/// Every ECR call the gate makes. Implementations are cheap to clone and shared by the tasks
/// that check images side by side.
pub trait ScanApi: Clone + Send + Sync + 'static {
    /// `DescribeImages` for the image's tag or digest.
    fn describe_image(
        &self,
        image: &Image,
    ) -> impl Future<Output = Result<ImageDetail, ApiError>> + Send;

    /// One `DescribeImageScanFindings` page (`token` from the page before).
    fn findings_page(
        &self,
        image: &Image,
        token: Option<&str>,
    ) -> impl Future<Output = Result<FindingsPage, ApiError>> + Send;

    /// `BatchGetImage` of the image's digest, accepting every type in [`MANIFEST_TYPES`] so
    /// the answer is the manifest exactly as stored.
    fn manifest(&self, image: &Image) -> impl Future<Output = Result<Manifest, ApiError>> + Send;

    /// `PutImage` of `manifest` (bytes and media type exactly as [`ScanApi::manifest`] returned
    /// them) under `tag`, in the image's repository, asserting the image's digest so ECR refuses
    /// bytes that hash to anything else. The caller decides what a refusal means:
    /// `ImageAlreadyExistsException` may be "already there", a retry of a put that succeeded.
    fn put_image(
        &self,
        image: &Image,
        tag: &str,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// `StartImageScan`, tried once: `LimitExceededException` here means "already scanned in
    /// the last 24 hours", which a retrying client would hide.
    fn start_scan(&self, image: &Image) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// `GetRegistryScanningConfiguration`: basic or enhanced scanning in the caller's
    /// registry (ECR answers for no other).
    fn registry_scanning(&self) -> impl Future<Output = Result<RegistryScanning, ApiError>> + Send;

    /// One page of `DescribeRepositories` (`audit`). Clients that never list answer that they
    /// cannot.
    fn repositories(
        &self,
        _registry_id: Option<&str>,
        _token: Option<&str>,
    ) -> impl Future<Output = Result<Listing<String>, ApiError>> + Send {
        async {
            Err(ApiError::BadAnswer(
                "this client lists no repositories".into(),
            ))
        }
    }

    /// One page of `DescribeImages` of a repository, tagged images only (`audit`).
    fn tagged_images(
        &self,
        _registry_id: Option<&str>,
        _repository: &str,
        _token: Option<&str>,
    ) -> impl Future<Output = Result<Listing<ImageSummary>, ApiError>> + Send {
        async { Err(ApiError::BadAnswer("this client lists no images".into())) }
    }

    /// The region this client talks to, for reports.
    fn region(&self) -> &str;
}
