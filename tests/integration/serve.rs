//! `serve`, the admission webhook, as the API server meets it: the real binary over HTTPS with
//! a certificate from a throwaway CA (made here with openssl), a TLS client that verifies it,
//! AdmissionReview bodies shaped as the API server sends them, and the scripted ECR behind.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio_rustls::TlsConnector;

use crate::fake_ecr::*;
use crate::util::in_ci;

const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const SECRET: &str = crate::live::TEST_SECRET;
const TOKEN: &str = "test-session-token-do-not-print";

/// A CA and a serving certificate for localhost and 127.0.0.1, by the openssl CLI.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Option<Pki> {
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(!in_ci(), "openssl is needed for the webhook tests under CI");
            eprintln!("skipping: openssl not found");
            return None;
        }
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        pki.issue("ca", "server");
        Some(pki)
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new CA `ca` (its certificate `ca.pem`) and a serving pair it signs, written to
    /// `server.pem` / `server.key` (each through a temporary file and a rename, as the kubelet
    /// swaps a Secret's files).
    fn issue(&self, ca: &str, name: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-days",
            "1",
            "-subj",
            &format!("/CN={ca}"),
        ]);
        std::fs::write(
            self.dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "next.key",
            "-out",
            "next.csr",
            "-subj",
            "/CN=localhost",
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            "next.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            "next.pem",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        ]);
        std::fs::rename(
            self.dir.join("next.key"),
            self.dir.join(format!("{name}.key")),
        )
        .unwrap();
        std::fs::rename(
            self.dir.join("next.pem"),
            self.dir.join(format!("{name}.pem")),
        )
        .unwrap();
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    fn ca(&self, ca: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(format!("{ca}.pem"))).unwrap()
    }
}

/// A TLS client trusting one CA only.
struct Client {
    connector: TlsConnector,
    addr: SocketAddr,
}

struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    fn new(ca_pem: &[u8], addr: SocketAddr) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Client {
            connector: TlsConnector::from(Arc::new(config)),
            addr,
        }
    }

    async fn connect(&self) -> Result<Connection, String> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let tls = self
            .connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(Connection { sender })
    }

    async fn send(&self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        self.connect().await.unwrap().send(method, path, body).await
    }

    async fn review(&self, review: &Value) -> Value {
        let (status, body) = self.send("POST", "/validate", &review.to_string()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }
}

impl Connection {
    async fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, body)
    }
}

/// The webhook process, its stderr collected line by line.
struct Webhook {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    pki: Pki,
    _dir: tempfile::TempDir,
}

impl Webhook {
    async fn start(endpoint: &str, args: &[&str]) -> Option<Webhook> {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(dir.path())?;
        let mut cmd = crate::live::test_binary();
        cmd.env("AWS_SESSION_TOKEN", TOKEN)
            .args(["serve", "--listen", "127.0.0.1:0", "--region", "us-east-1"])
            .args([
                "--tls-cert",
                &pki.path("server.pem"),
                "--tls-key",
                &pki.path("server.key"),
            ])
            .args(["--endpoint-url", endpoint, "--settle", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start the webhook");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("serving admission reviews on https://") {
                    let addr = rest.split("/validate").next().unwrap_or_default();
                    let _ = tx.send(addr.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .unwrap_or_else(|_| panic!("the webhook did not start: {:?}", log.lock().unwrap()));
        let addr: SocketAddr = addr.parse().unwrap();
        Some(Webhook {
            child,
            addr,
            log,
            pki,
            _dir: dir,
        })
    }

    fn client(&self) -> Client {
        Client::new(&self.pki.ca("ca"), self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGTERM, then the exit status and the whole log.
    fn stop(mut self) -> (i32, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.log())
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Pod review as the API server sends it.
fn pod_review(uid: &str, namespace: &str, containers: &[&str], init: &[&str]) -> Value {
    let list = |images: &[&str], prefix: &str| -> Vec<Value> {
        images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("{prefix}{i}"), "image": image, "resources": {}}))
            .collect()
    };
    let pod = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"generateName": "web-5d8f9c7b4-", "namespace": namespace, "labels": {"app": "web"}},
        "spec": {"containers": list(containers, "c"), "initContainers": list(init, "init"), "restartPolicy": "Always"}
    });
    review(uid, ["", "v1", "Pod", "pods"], namespace, "", pod)
}

/// `[group, version, kind, resource]` of the object.
fn review(
    uid: &str,
    [group, version, kind, resource]: [&str; 4],
    namespace: &str,
    name: &str,
    object: Value,
) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": name,
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller", "uid": "0a1b", "groups": ["system:serviceaccounts"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    })
}

/// app/web is DIGEST_A, clean; app/migrate is DIGEST_B with a CRITICAL finding; basic scanning.
async fn registry() -> FakeEcr {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("BASIC"),
    )
    .await;
    fake.on_body(
        "DescribeImages",
        "app/migrate",
        ok(image_details(
            DIGEST_B,
            "application/vnd.oci.image.manifest.v1+json",
        )),
    )
    .await;
    fake.image(DIGEST_A).await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_B,
        ok(scan_page(
            DIGEST_B,
            "COMPLETE",
            vec![basic_finding("CVE-2026-1111", "CRITICAL", "openssl")],
            None,
        )),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    fake
}

/// app/web (any tag) is DIGEST_A, its scan answered by `findings`; basic scanning.
async fn one_image(findings: wiremock::ResponseTemplate) -> FakeEcr {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("BASIC"),
    )
    .await;
    fake.image(DIGEST_A).await;
    fake.on("DescribeImageScanFindings", findings).await;
    fake
}

fn response(answer: &Value) -> &Value {
    &answer["response"]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_pod_is_allowed_and_a_violating_init_container_refused_with_403_and_its_digest() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let client = webhook.client();

    let clean = client
        .review(&pod_review(
            "uid-clean",
            "shop",
            &[&format!("{ECR}/app/web:1.4.2")],
            &[],
        ))
        .await;
    assert_eq!(clean["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(clean["kind"], "AdmissionReview");
    assert_eq!(response(&clean)["uid"], "uid-clean");
    assert_eq!(response(&clean)["allowed"], true, "{clean}");

    let bad = client
        .review(&pod_review(
            "uid-bad",
            "shop",
            &[&format!("{ECR}/app/web:1.4.2")],
            &[&format!("{ECR}/app/migrate:1.4.2")],
        ))
        .await;
    let r = response(&bad);
    assert_eq!(r["uid"], "uid-bad");
    assert_eq!(r["allowed"], false, "{bad}");
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains(DIGEST_B), "{message}");
    assert!(message.contains("CVE-2026-1111 CRITICAL"), "{message}");
    assert!(message.contains("app/migrate"), "{message}");
    assert!(
        !message.contains(DIGEST_A),
        "the clean image is not named: {message}"
    );

    let (code, log) = webhook.stop();
    assert_eq!(code, 0, "{log}");
    // The refusal is logged with what an operator searches by.
    let line = log
        .lines()
        .find(|l| l.contains("refused"))
        .unwrap_or_else(|| panic!("{log}"));
    for field in [
        "namespace=shop",
        "kind=Pod",
        "web-5d8f9c7b4-",
        DIGEST_B,
        "CVE-2026-1111",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_is_refused_and_a_non_ecr_image_is_allowed_with_a_warning() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &["--log-format", "json"]).await else {
        return;
    };
    let client = webhook.client();
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "migrate"}},
          "template": {"metadata": {"labels": {"app": "migrate"}},
            "spec": {"containers": [{"name": "migrate", "image": format!("{ECR}/app/migrate:1.4.2")}]}}}
    });
    let answer = client
        .review(&review(
            "uid-deploy",
            ["apps", "v1", "Deployment", "deployments"],
            "shop",
            "migrate",
            deployment,
        ))
        .await;
    assert_eq!(response(&answer)["allowed"], false, "{answer}");
    let message = response(&answer)["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("ecr-scan-gate refused Deployment shop/migrate: "),
        "{message}"
    );
    assert!(message.contains(DIGEST_B), "{message}");

    let answer = client
        .review(&pod_review(
            "uid-nginx",
            "shop",
            &[
                &format!("{ECR}/app/web:1.4.2"),
                "docker.io/library/nginx:1.27",
            ],
            &[],
        ))
        .await;
    let r = response(&answer);
    assert_eq!(r["allowed"], true, "{answer}");
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("docker.io/library/nginx:1.27")
                && w.contains("not in a private ECR registry")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().all(|w| w.chars().count() < 256),
        "{warnings:?}"
    );

    let (_, log) = webhook.stop();
    // --log-format json: the refusal is one JSON object with its fields.
    let refusal: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "refused")
        .unwrap_or_else(|| panic!("no JSON refusal line in:\n{log}"));
    assert_eq!(refusal["fields"]["namespace"], "shop");
    assert_eq!(refusal["fields"]["name"], "migrate");
    assert_eq!(refusal["fields"]["kind"], "Deployment");
    assert_eq!(refusal["fields"]["digest"], DIGEST_B);
    assert!(refusal["fields"]["reason"]
        .as_str()
        .unwrap()
        .contains("CVE-2026-1111"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exempt_namespace_is_allowed_without_an_ecr_call() {
    let fake = registry().await;
    let Some(webhook) =
        Webhook::start(&fake.uri(), &["--exempt-namespace", "kube-system,ops"]).await
    else {
        return;
    };
    let answer = webhook
        .client()
        .review(&pod_review(
            "uid-ops",
            "ops",
            &[&format!("{ECR}/app/migrate:1.4.2")],
            &[],
        ))
        .await;
    assert_eq!(response(&answer)["allowed"], true, "{answer}");
    assert!(
        fake.server.received_requests().await.unwrap().is_empty(),
        "no ECR call for an exempt namespace"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_in_progress_is_refused_at_once_and_allowed_with_a_warning_in_warn_mode() {
    let fake = one_image(ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], None))).await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let pod = pod_review("uid-1", "shop", &[&format!("{ECR}/app/web:1.4.2")], &[]);
    let answer = webhook.client().review(&pod).await;
    assert_eq!(response(&answer)["allowed"], false, "{answer}");
    let message = response(&answer)["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("IN_PROGRESS") && message.contains("cannot be judged"),
        "{message}"
    );
    assert_eq!(
        fake.calls("DescribeImageScanFindings").await.len(),
        1,
        "read once, never polled"
    );
    // Not kept: the next review asks ECR again.
    webhook.client().review(&pod).await;
    assert_eq!(fake.calls("DescribeImageScanFindings").await.len(), 2);
    drop(webhook);

    let Some(warn) = Webhook::start(&fake.uri(), &["--mode", "warn"]).await else {
        return;
    };
    let answer = warn.client().review(&pod).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], true, "{answer}");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("would be refused (--mode enforce): "),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn warn_mode_allows_a_violation_and_says_what_enforce_would_refuse() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &["--mode", "warn"]).await else {
        return;
    };
    let answer = webhook
        .client()
        .review(&pod_review(
            "uid-w",
            "shop",
            &[&format!("{ECR}/app/migrate:1.4.2")],
            &[],
        ))
        .await;
    let r = response(&answer);
    assert_eq!(r["allowed"], true, "{answer}");
    assert!(r.get("status").is_none(), "{answer}");
    let warning = r["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("would be refused") && warning.contains("CVE-2026-1111"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_ecr_is_refused_within_the_decision_timeout() {
    // A port nothing listens on: every attempt is refused, and retried, until the deadline.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let Some(webhook) = Webhook::start(&endpoint, &["--decision-timeout", "3s"]).await else {
        return;
    };
    let start = Instant::now();
    let answer = webhook
        .client()
        .review(&pod_review(
            "uid-down",
            "shop",
            &[&format!("{ECR}/app/web:1.4.2")],
            &[],
        ))
        .await;
    let took = start.elapsed();
    assert_eq!(response(&answer)["allowed"], false, "{answer}");
    assert_eq!(response(&answer)["uid"], "uid-down");
    // The API server's own limit is 10 s; the answer comes by --decision-timeout.
    assert!(
        took < Duration::from_millis(3500),
        "answered after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_digest_is_not_read_again_but_its_tag_is_resolved_every_time() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let client = webhook.client();
    let pod = pod_review("uid-c", "shop", &[&format!("{ECR}/app/web:1.4.2")], &[]);
    for _ in 0..3 {
        assert_eq!(response(&client.review(&pod).await)["allowed"], true);
    }
    // Another tag of the same digest reuses the judgement too.
    let other = pod_review("uid-d", "shop", &[&format!("{ECR}/app/web:stable")], &[]);
    assert_eq!(response(&client.review(&other).await)["allowed"], true);
    assert_eq!(
        fake.calls("DescribeImageScanFindings").await.len(),
        1,
        "one findings read for one digest"
    );
    assert_eq!(
        fake.calls("DescribeImages").await.len(),
        4 + 1,
        "each tag resolved on each review, plus the one read by digest"
    );

    let (status, metrics) = client.send("GET", "/metrics", "").await;
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    for line in [
        "ecr_scan_gate_cache_hits_total 3",
        "ecr_scan_gate_cache_misses_total 1",
        "ecr_scan_gate_decisions_total{result=\"allowed\"} 4",
        "ecr_scan_gate_ecr_calls_total{operation=\"DescribeImageScanFindings\"} 1",
        "ecr_scan_gate_decision_duration_seconds_count 4",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_a_body_that_is_no_review() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let client = webhook.client();
    assert_eq!(client.send("GET", "/healthz", "").await.0, 200);
    let mut ready = 0;
    for _ in 0..50 {
        ready = client.send("GET", "/readyz", "").await.0;
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "credentials from the environment resolve");
    for body in [
        "{not json",
        r#"{"apiVersion":"v1","kind":"Pod"}"#,
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
    ] {
        let (status, text) = client.send("POST", "/validate", body).await;
        assert_eq!(status, 400, "{body}: {}", String::from_utf8_lossy(&text));
    }
    assert!(fake.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_certificate_is_served_without_a_restart_or_a_dropped_connection() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let old_ca = webhook.client();
    let mut open = old_ca.connect().await.unwrap();
    assert_eq!(open.send("GET", "/healthz", "").await.0, 200);

    // cert-manager renews, from a new CA this time, so each connection shows which it got.
    webhook.pki.issue("ca2", "server");
    let new_ca = Client::new(&webhook.pki.ca("ca2"), webhook.addr);
    let mut served = Err(String::new());
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        served = new_ca.connect().await.map(|_| ());
        if served.is_ok() {
            break;
        }
    }
    served.expect("the renewed certificate is served");
    // A fresh client: the first one could resume its TLS session without a certificate.
    let trusts_old = Client::new(&webhook.pki.ca("ca"), webhook.addr);
    assert!(
        trusts_old.connect().await.is_err(),
        "new connections no longer get the old certificate"
    );
    // The connection opened before the renewal still works.
    let answer = open
        .send(
            "POST",
            "/validate",
            &pod_review("uid-r", "shop", &[&format!("{ECR}/app/web:1.4.2")], &[]).to_string(),
        )
        .await;
    assert_eq!(answer.0, 200);
    let (code, log) = webhook.stop();
    assert_eq!(code, 0);
    assert!(log.contains("serving the renewed certificate"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_review_in_flight_and_no_log_line_holds_a_secret() {
    let fake = one_image(
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)).set_delay(Duration::from_millis(1500)),
    )
    .await;
    let Some(webhook) = Webhook::start(&fake.uri(), &["-vv"]).await else {
        return;
    };
    let client = webhook.client();
    let pid = webhook.child.id().to_string();
    let pod = pod_review("uid-t", "shop", &[&format!("{ECR}/app/web:1.4.2")], &[]);
    let in_flight = tokio::spawn(async move { client.review(&pod).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let answer = in_flight.await.unwrap();
    assert_eq!(response(&answer)["allowed"], true, "{answer}");
    let (code, log) = webhook.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("finishing the reviews in flight"), "{log}");
    assert!(log.lines().count() > 5, "-vv logs: {log}");
    for secret in [SECRET, TOKEN] {
        assert!(!log.contains(secret), "a credential in the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_debug_is_judged_on_the_container_it_adds() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let client = webhook.client();
    let debug = |image: &str| {
        let pod = json!({
            "kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web-0", "namespace": "shop"},
            "spec": {"containers": [{"name": "web", "image": format!("{ECR}/app/migrate:1.4.2")}],
                     "ephemeralContainers": [{"name": "debugger", "image": image}]}
        });
        let mut r = review("uid-e", ["", "v1", "Pod", "pods"], "shop", "web-0", pod);
        r["request"]["subResource"] = json!("ephemeralcontainers");
        r["request"]["operation"] = json!("UPDATE");
        r
    };
    // The running container is not judged again by `kubectl debug`.
    let answer = client.review(&debug(&format!("{ECR}/app/web:1.4.2"))).await;
    assert_eq!(response(&answer)["allowed"], true, "{answer}");
    let answer = client
        .review(&debug(&format!("{ECR}/app/migrate:1.4.2")))
        .await;
    assert_eq!(response(&answer)["allowed"], false, "{answer}");
    assert!(response(&answer)["status"]["message"]
        .as_str()
        .unwrap()
        .contains(DIGEST_B));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_reviews_of_one_digest_share_one_read() {
    let fake = one_image(
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)).set_delay(Duration::from_millis(500)),
    )
    .await;
    let Some(webhook) = Webhook::start(&fake.uri(), &[]).await else {
        return;
    };
    let client = Arc::new(webhook.client());
    let mut reviews = Vec::new();
    for i in 0..8 {
        let client = client.clone();
        reviews.push(tokio::spawn(async move {
            let pod = pod_review(
                &format!("uid-{i}"),
                "shop",
                &[&format!("{ECR}/app/web:1.4.2")],
                &[],
            );
            client.review(&pod).await
        }));
    }
    for (i, review) in reviews.into_iter().enumerate() {
        let answer = review.await.unwrap();
        assert_eq!(response(&answer)["uid"], format!("uid-{i}"));
        assert_eq!(response(&answer)["allowed"], true, "{answer}");
    }
    assert_eq!(fake.calls("DescribeImageScanFindings").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn require_digest_refuses_a_tag_and_allows_the_same_image_by_digest() {
    let fake = registry().await;
    let Some(webhook) = Webhook::start(&fake.uri(), &["--require-digest"]).await else {
        return;
    };
    let client = webhook.client();
    let by_tag = client
        .review(&pod_review(
            "uid-t",
            "shop",
            &[&format!("{ECR}/app/web:1.4.2")],
            &[],
        ))
        .await;
    assert_eq!(response(&by_tag)["allowed"], false, "{by_tag}");
    let message = response(&by_tag)["status"]["message"].as_str().unwrap();
    assert!(message.contains("not pinned by digest"), "{message}");
    let by_digest = client
        .review(&pod_review(
            "uid-d",
            "shop",
            &[&format!("{ECR}/app/web@{DIGEST_A}")],
            &[],
        ))
        .await;
    assert_eq!(response(&by_digest)["allowed"], true, "{by_digest}");
}
