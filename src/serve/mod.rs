//! `serve`: the admission webhook. The API server sends each Pod or workload as an
//! AdmissionReview ([`review`]); its images are read by the deploy reader and judged as
//! `check --images-from` judges them, by digest, without waiting ([`images`]); the answer is
//! read off that `Evaluation` ([`decide`]). Served over HTTPS only ([`tls`], the certificate
//! re-read as it rotates), with health, readiness and Prometheus [`metrics`].

pub mod decide;
mod http;
pub mod images;
pub mod metrics;
pub mod review;
pub mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::cli::{ServeArgs, ServeMode};
use crate::deploy::plan::Plan;
use crate::ecr::sdk::AwsSettings;
use crate::error::Error;
use crate::exit::Outcome;
use decide::Decision;
use review::Request;

/// Part of `--decision-timeout` left for the answer itself: the ECR calls end before it, so a
/// slow ECR is refused with its own error rather than a bare timeout.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// What every request handler shares.
pub struct Webhook {
    judge: Arc<images::Judge>,
    mode: ServeMode,
    decision_timeout: Duration,
    exempt: Vec<String>,
    metrics: metrics::Metrics,
    ready: AtomicBool,
}

/// Runs the webhook until SIGTERM (or Ctrl-C), then finishes the reviews in flight.
pub fn run(verbose: u8, args: ServeArgs) -> Result<Outcome, Error> {
    crate::logging::init_server(verbose, args.log_format == crate::cli::LogFormat::Json);
    let mut policy = args.policy.resolve()?;
    policy.require_digest = args.require_digest;
    if args.decision_timeout <= ANSWER_MARGIN * 2 {
        return Err(Error::Usage(format!(
            "--decision-timeout {} leaves no time to ask ECR: give at least 2s (the API server waits 10s)",
            humantime::format_duration(args.decision_timeout)
        )));
    }
    let certificates =
        tls::Certificates::load(&args.tls_cert, &args.tls_key).map_err(Error::Usage)?;
    let config = certificates.server_config().map_err(Error::Usage)?;
    let settings = AwsSettings {
        // One attempt may take half the decision, so the SDK can try a second time.
        attempt_timeout: (args.decision_timeout / 2).max(Duration::from_secs(1)),
        ..AwsSettings::from(&args.aws)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let default_client = crate::ecr::sdk::build(&settings, settings.region.clone())
            .await
            .map_err(Error::Usage)?;
        let metrics = metrics::Metrics::default();
        let judge = Arc::new(images::Judge::new(images::Setup {
            policy,
            non_ecr: args.non_ecr,
            settings,
            settle: args.settle,
            ttl: args.cache_ttl,
            concurrency: args.aws.concurrency as usize,
            metrics: metrics.clone(),
            default_client,
        }));
        let webhook = Arc::new(Webhook {
            judge,
            mode: args.mode,
            decision_timeout: args.decision_timeout,
            exempt: args
                .exempt_namespaces
                .iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            metrics,
            ready: AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", args.listen)))?;
        let listening = listener.local_addr().unwrap_or(args.listen);
        tracing::info!(mode = ?args.mode, "serving admission reviews on https://{listening}/validate");
        tokio::spawn(certificates.watch());
        tokio::spawn(webhook.clone().keep_ready());
        http::serve(listener, config, webhook).await;
        Ok(Outcome::Pass)
    })
}

impl Webhook {
    /// `/readyz` follows whether credentials resolve: every 2 s until they do, then every minute
    /// (the chain's provider is not cached here, and under IRSA each look is an STS call).
    /// A webhook that cannot sign calls would refuse every Pod.
    async fn keep_ready(self: Arc<Self>) {
        loop {
            let ready = match self.judge.default_client().credentials().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("not ready: {e}");
                    false
                }
            };
            if ready != self.ready.swap(ready, Ordering::Relaxed) && ready {
                tracing::info!("ready: AWS credentials resolve");
            }
            tokio::time::sleep(Duration::from_secs(if ready { 60 } else { 2 })).await;
        }
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The decision on one review, always within `--decision-timeout`.
    pub async fn decide(self: &Arc<Self>, request: &Request) -> Decision {
        let start = Instant::now();
        let what = describe(request);
        let decision = match tokio::time::timeout(
            self.decision_timeout,
            self.judge_request(
                request,
                &what,
                start + self.decision_timeout - ANSWER_MARGIN,
            ),
        )
        .await
        {
            Ok(decision) => decision,
            Err(_) => Decision::undecided(
                self.mode,
                &what,
                format!(
                    "no decision within --decision-timeout {}",
                    humantime::format_duration(self.decision_timeout)
                ),
            ),
        };
        self.metrics.decided(decision.result, start.elapsed());
        for problem in &decision.problems {
            let verb = match decision.result {
                decide::Admission::Refused => "refused",
                _ => "allowed in warn mode, enforce would refuse",
            };
            tracing::warn!(
                namespace = %request.namespace,
                name = %object_name(request),
                kind = %request.kind,
                operation = %request.operation,
                image = %problem.image,
                digest = problem.digest.as_deref().unwrap_or(""),
                reason = %problem.reason,
                "{verb}"
            );
        }
        decision
    }

    async fn judge_request(
        self: &Arc<Self>,
        request: &Request,
        what: &str,
        deadline: Instant,
    ) -> Decision {
        if self.exempt.contains(&request.namespace) {
            return Decision::allow(decide::Admission::Exempt);
        }
        let Some(object) = &request.object else {
            // DELETE and CONNECT carry no object: nothing starts running.
            return Decision::allow(decide::Admission::Allowed);
        };
        let mut file = match crate::deploy::read(what, object.clone()) {
            Ok(file) => file,
            Err(e) => {
                return Decision::undecided(self.mode, what, format!("cannot read its images: {e}"))
            }
        };
        if request.sub_resource == "ephemeralcontainers" {
            // `kubectl debug` adds a container to a running Pod: only what it adds is new.
            file.occurrences
                .retain(|o| o.path.contains("ephemeralContainers"));
        }
        if let Some(old) = request
            .old_object
            .as_ref()
            .filter(|_| request.operation == "UPDATE")
        {
            // An update that keeps an image (a scale, a label) starts nothing new from it; a
            // tag that moved is judged when the Pods it makes are created.
            if let Ok(old) = crate::deploy::read(what, old.clone()) {
                file.occurrences
                    .retain(|o| !old.occurrences.iter().any(|was| was.value == o.value));
            }
        }
        if file.occurrences.is_empty() {
            return Decision::allow(decide::Admission::Allowed);
        }
        let plan = Plan::of(vec![file]);
        let evaluation = self.judge.evaluate(&plan, deadline).await;
        decide::decide(&evaluation, self.mode, what)
    }
}

/// `Deployment shop/web`, for messages.
fn describe(request: &Request) -> String {
    let name = object_name(request);
    match (request.namespace.is_empty(), name.is_empty()) {
        (true, _) => format!("{} {name}", request.kind),
        (false, true) => format!("{} in {}", request.kind, request.namespace),
        (false, false) => format!("{} {}/{name}", request.kind, request.namespace),
    }
}

/// The request's name, or the object's `generateName` (a ReplicaSet's Pods have no name yet).
fn object_name(request: &Request) -> String {
    if !request.name.is_empty() {
        return request.name.clone();
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Meta {
        #[serde(default)]
        generate_name: String,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        metadata: Option<Meta>,
    }
    request
        .object
        .as_deref()
        .and_then(|o| serde_json::from_str::<Object>(o).ok())
        .and_then(|o| o.metadata)
        .map(|m| m.generate_name)
        .unwrap_or_default()
}
