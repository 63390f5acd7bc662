//! A scripted ECR on 127.0.0.1 (wiremock) for what moto cannot do: status sequences, paging,
//! faults. It speaks the AWS JSON 1.1 protocol the real SDK uses: POST / with
//! `x-amz-target: AmazonEC2ContainerRegistry_V20150921.<Operation>`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.";

pub const DIGEST_A: &str =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const DIGEST_B: &str =
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
pub const DIGEST_C: &str =
    "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

pub struct FakeEcr {
    pub server: MockServer,
}

impl FakeEcr {
    pub async fn start() -> Self {
        FakeEcr {
            server: MockServer::start().await,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub async fn on(&self, operation: &str, responder: impl Respond + 'static) {
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                format!("{TARGET}{operation}").as_str(),
            ))
            .respond_with(responder)
            .mount(&self.server)
            .await;
    }

    /// Only requests whose body contains `needle` (e.g. a digest or a token) get this answer.
    pub async fn on_body(&self, operation: &str, needle: &str, responder: impl Respond + 'static) {
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                format!("{TARGET}{operation}").as_str(),
            ))
            .and(body_string_contains(needle))
            .respond_with(responder)
            .mount(&self.server)
            .await;
    }

    /// Request bodies received for one operation, in order.
    pub async fn calls(&self, operation: &str) -> Vec<Value> {
        let target = format!("{TARGET}{operation}");
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                r.headers
                    .get("x-amz-target")
                    .is_some_and(|v| v.to_str().unwrap_or("") == target)
            })
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    /// DescribeImages answering with one plain image of `digest` for any tag.
    pub async fn image(&self, digest: &str) {
        self.on(
            "DescribeImages",
            ok(image_details(
                digest,
                "application/vnd.oci.image.manifest.v1+json",
            )),
        )
        .await;
    }
}

pub fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

pub fn aws_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .insert_header("x-amzn-errortype", code)
        .set_body_string(json!({"__type": code, "message": message}).to_string())
}

pub fn image_details(digest: &str, media_type: &str) -> Value {
    json!({"imageDetails": [{
        "registryId": "123456789012",
        "repositoryName": "app/web",
        "imageDigest": digest,
        "imageTags": ["v1"],
        "imageManifestMediaType": media_type
    }]})
}

pub fn basic_finding(id: &str, severity: &str, package: &str) -> Value {
    json!({
        "name": id,
        "description": format!("{id} in {package}"),
        "uri": format!("https://security-tracker.debian.org/tracker/{id}"),
        "severity": severity,
        "attributes": [
            {"key": "package_version", "value": "1.0-1"},
            {"key": "package_name", "value": package},
            {"key": "CVSS3_SCORE", "value": "7.5"}
        ]
    })
}

/// One DescribeImageScanFindings page in the raw API form (epoch timestamps).
pub fn scan_page(
    digest: &str,
    status: &str,
    findings: Vec<Value>,
    next_token: Option<&str>,
) -> Value {
    let mut counts = serde_json::Map::new();
    for f in &findings {
        let sev = f["severity"].as_str().unwrap_or("UNDEFINED").to_string();
        let n = counts.get(&sev).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(sev, json!(n + 1));
    }
    let mut page = json!({
        "registryId": "123456789012",
        "repositoryName": "app/web",
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": status, "description": format!("status {status}")},
        "imageScanFindings": {
            "imageScanCompletedAt": 1763630071.512,
            "vulnerabilitySourceUpdatedAt": 1763620000,
            "findingSeverityCounts": counts,
            "findings": findings
        }
    });
    if let Some(token) = next_token {
        page["nextToken"] = json!(token);
    }
    page
}

/// Answers in order; the last answer repeats.
pub struct Sequence(Mutex<VecDeque<ResponseTemplate>>);

impl Sequence {
    pub fn new(answers: Vec<ResponseTemplate>) -> Self {
        assert!(!answers.is_empty());
        Sequence(Mutex::new(answers.into()))
    }
}

impl Respond for Sequence {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut queue = self.0.lock().unwrap();
        if queue.len() > 1 {
            queue.pop_front().unwrap()
        } else {
            queue.front().cloned().unwrap()
        }
    }
}

/// Answers DescribeImageScanFindings by the request's `nextToken` (none for the first page).
pub struct ByToken(pub std::collections::HashMap<Option<String>, ResponseTemplate>);

impl Respond for ByToken {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let token = body["nextToken"].as_str().map(str::to_string);
        self.0
            .get(&token)
            .cloned()
            .unwrap_or_else(|| aws_error(400, "InvalidParameterException", "unknown nextToken"))
    }
}

/// What ECR answers under enhanced scanning before Amazon Inspector has delivered anything
/// (aws/aws-sdk#289): COMPLETE, `"findings": []`, no enhancedFindings, no counts, no times.
pub fn not_delivered_yet() -> Value {
    json!({
        "registryId": "123456789012", "repositoryName": "app/web", "imageId": {"imageDigest": DIGEST_A},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": {"findings": []}
    })
}

/// GetRegistryScanningConfiguration answering `BASIC` or `ENHANCED`.
pub fn registry_scanning(scan_type: &str) -> ResponseTemplate {
    ok(json!({
        "registryId": "123456789012",
        "scanningConfiguration": {"scanType": scan_type, "rules": []}
    }))
}

/// BatchGetImage answering with `body` exactly as stored for `digest`.
pub fn stored_manifest(digest: &str, body: &str, media_type: &str) -> ResponseTemplate {
    ok(json!({"images": [{
        "registryId": "123456789012", "repositoryName": "app/web",
        "imageId": {"imageDigest": digest},
        "imageManifest": body,
        "imageManifestMediaType": media_type
    }], "failures": []}))
}

/// PutImage accepting whatever it is given.
pub fn put_accepted() -> ResponseTemplate {
    ok(json!({"image": {"registryId": "123456789012", "repositoryName": "app/web"}}))
}
