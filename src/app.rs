//! The commands: `evaluate` (saved JSON), `check` (live), `wait` (live, judging nothing) and
//! `audit` (a whole registry). `serve` is a server, not a run: `main` starts [`crate::serve`].
//! Each validates everything it can first (a usage error is decided before any AWS call or
//! report), then runs the steps in flow order and ends in the shared judge-and-report step;
//! `check --promote-tag` promotes between judging and reporting, so the reports record it.

pub(crate) mod deployed;

use std::time::Duration;

use crate::cli::{
    AuditArgs, AwsArgs, CheckArgs, Cli, ColorChoice, Command, EvaluateArgs, PolicyArgs, ReportArgs,
    WaitArgs,
};
use crate::ecr::audit::Selection;
use crate::ecr::sdk::{AwsSettings, Clients};
use crate::ecr::{self, Mode, WaitSettings};
use crate::error::Error;
use crate::evaluation::{Evaluation, Promotion, PromotionStatus};
use crate::exit::Outcome;
use crate::findings::{saved, ImageError, ScannedImage, Source};
use crate::image_ref::{self, Reference};
use crate::policy::baseline::Baseline;
use crate::policy::Policy;
use crate::report::{self, console, escape, Output};

/// Runs the parsed command line to its outcome.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    crate::logging::init(cli.verbose, cli.quiet);
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => report::stdout_supports_color(),
    };
    let quiet = cli.quiet;
    match cli.command {
        Command::Evaluate(args) => evaluate(args, color, quiet),
        Command::Check(args) => check(*args, color, quiet),
        Command::Wait(args) => wait(args, color, quiet),
        Command::Audit(args) => audit(*args, color, quiet),
        // A server, not a run: `main` starts it (crate::serve), so nothing here reaches it.
        Command::Serve(_) => Err(Error::Usage(
            "`serve` runs as a server, started by the binary itself".to_string(),
        )),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "ecr-scan-gate", &mut std::io::stdout());
            Ok(Outcome::Pass)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd)
                .render(&mut std::io::stdout())
                .map_err(|e| Error::Usage(format!("cannot write the man page: {e}")))?;
            Ok(Outcome::Pass)
        }
    }
}

fn evaluate(args: EvaluateArgs, color: bool, quiet: bool) -> Result<Outcome, Error> {
    args.promote.refuse("evaluate").map_err(Error::Usage)?;
    let judging = Judging::prepare(&args.policy, args.report, color)?;
    let images = saved::read_inputs(&args.files)?;
    // Missing findings are never a pass: a save without every page is broken input.
    for image in &images {
        if let Some(missing) = crate::judge::missing_findings(&judging.policy, image) {
            let files = match &image.source {
                Source::File { files } => files.join(", "),
                Source::Ecr { reference, .. } => reference.clone(),
            };
            return Err(Error::Input(saved::InputError::Shape {
                path: files,
                message: format!(
                    "ECR counts {missing} the input does not contain for {}: save every page \
                     (aws ecr describe-image-scan-findings without --max-items)",
                    image.image
                ),
            }));
        }
    }
    judging.judge_and_report(images, quiet)
}

fn check(args: CheckArgs, color: bool, quiet: bool) -> Result<Outcome, Error> {
    let plan = deployed::read(&args)?;
    let mut judging = Judging::prepare(&args.policy, args.report, color)?;
    let tags = crate::cli::promote_tags(&args.promote_tags).map_err(Error::Usage)?;
    if !tags.is_empty() {
        // A report that cannot be written after a tag moved would leave a moved tag and no
        // record of it: every report file must be writable before anything is tagged.
        report::check_writable(&judging.outputs).map_err(Error::Usage)?;
    }
    let wait: WaitSettings = (&args.wait).into();
    judging.policy.require_digest = args.require_digest;
    if args.write_pinned.as_deref() == Some("-") {
        // The pinned file is the output a pipeline pipes on: reports make way for it.
        judging.options.stdout_to_stderr = true;
    }
    let mut image_refs = args.images.clone();
    if let Some(plan) = &plan {
        for reference in plan.ecr_references() {
            if !image_refs.contains(&reference) {
                image_refs.push(reference);
            }
        }
        if image_refs.is_empty() {
            return judge_only_elsewhere(plan, args.non_ecr, &judging, tags, quiet);
        }
    }
    if let Some(reference) = &args.baseline_image {
        // Checked before the first AWS call, like every other reference.
        references(std::slice::from_ref(reference), &args.aws).map_err(Error::Usage)?;
    }
    let live = Live::connect(&image_refs, &args.aws, wait.clone(), !tags.is_empty())?;
    let baseline = match &args.baseline_image {
        Some(reference) => Some((
            format!("image {reference}"),
            Live::connect(std::slice::from_ref(reference), &args.aws, wait, false)?,
        )),
        None => None,
    };
    // The baseline is read alongside the images, within the same --timeout.
    let (mut images, baseline) = std::thread::scope(|scope| {
        let baseline = baseline.as_ref().map(|(origin, base)| {
            (
                origin.clone(),
                scope.spawn(move || base.gather(Mode::Check)),
            )
        });
        let images = if image_refs.is_empty() {
            Vec::new()
        } else {
            live.gather(Mode::Check)
        };
        let baseline = baseline.map(|(origin, reading)| {
            let images = reading.join().unwrap_or_else(|_| {
                vec![ScannedImage::failed(
                    Default::default(),
                    Source::Ecr {
                        reference: origin.clone(),
                        placements: Vec::new(),
                    },
                    None,
                    ImageError::aws("reading the baseline image stopped unexpectedly"),
                )]
            });
            (origin, images)
        });
        (images, baseline)
    });
    if let Some((origin, baseline)) = baseline {
        // Without the baseline nothing can be called pre-existing: judging anyway would fail
        // every image on old debt, so each image carries the baseline's error instead.
        if let Some(error) = baseline.iter().find_map(|b| b.findings.as_ref().err()) {
            let message = format!(
                "the baseline {origin} could not be read: {}",
                error.message()
            );
            let error = match error {
                ImageError::ScanUnusable(_) => ImageError::scan(message),
                ImageError::Aws(_) => ImageError::aws(message),
            };
            images = images
                .into_iter()
                .map(|i| ScannedImage::failed(i.image, i.source, i.scan, error.clone()))
                .collect();
        }
        judging.policy.baseline = Some(Baseline::from_images(origin, &baseline));
    }
    let images = refuse_incomplete(&judging.policy, images);
    let (images, not_judged) = match &plan {
        Some(plan) => deployed::place(plan, images, args.non_ecr),
        None => (images, Vec::new()),
    };
    let mut evaluation = judging.judge(images);
    evaluation.warnings.extend(not_judged);
    if !tags.is_empty() {
        // Only a whole pass promotes; the digests are the judged ones, never a tag read again.
        evaluation.promotion = Some(if evaluation.outcome() == Outcome::Pass {
            live.promote(&evaluation, &tags)
        } else {
            Promotion {
                tags,
                promoted: Vec::new(),
                status: PromotionStatus::NotAttempted,
            }
        });
    }
    let outcome = judging.report(&evaluation, quiet)?;
    if let (Some(plan), Some(path)) = (&plan, &args.write_pinned) {
        if outcome == Outcome::Pass {
            deployed::write_pinned(plan, &evaluation, path)?;
        }
    }
    Ok(outcome)
}

/// `check --images-from` where every image is in another registry: nothing to ask AWS. With
/// `--non-ecr fail` each is an error of its image (exit 3); otherwise nothing can be judged,
/// which must not pass (exit 2, naming the files).
fn judge_only_elsewhere(
    plan: &crate::deploy::plan::Plan,
    non_ecr: crate::cli::NonEcr,
    judging: &Judging,
    tags: Vec<String>,
    quiet: bool,
) -> Result<Outcome, Error> {
    let (images, not_judged) = deployed::place(plan, Vec::new(), non_ecr);
    if images.is_empty() {
        let elsewhere: Vec<String> = plan.not_ecr().into_iter().map(|(value, _)| value).collect();
        return Err(Error::Usage(format!(
            "{}: no image is in a private ECR registry, so nothing can be judged ({}); \
             --non-ecr fail makes each one an error of its image (exit 3)",
            plan.labels().join(", "),
            elsewhere.join(", ")
        )));
    }
    let mut evaluation = judging.judge(images);
    evaluation.warnings.extend(not_judged);
    if !tags.is_empty() {
        evaluation.promotion = Some(Promotion {
            tags,
            promoted: Vec::new(),
            status: PromotionStatus::NotAttempted,
        });
    }
    judging.report(&evaluation, quiet)
}

/// Live reads that lack findings ECR counts where they could violate: after the settle rule had
/// its chance, an incomplete read, never a pass.
pub(crate) fn refuse_incomplete(policy: &Policy, images: Vec<ScannedImage>) -> Vec<ScannedImage> {
    images
        .into_iter()
        .map(|image| match crate::judge::missing_findings(policy, &image) {
            Some(missing) => {
                let error = ImageError::aws(format!(
                    "ECR counts {missing} that ecr:DescribeImageScanFindings did not return for {}: \
                     refusing to judge an incomplete read",
                    image.image
                ));
                ScannedImage::failed(image.image, image.source, image.scan, error)
            }
            None => image,
        })
        .collect()
}

/// `audit`: list the registry, choose each repository's newest images, judge them by digest.
fn audit(args: AuditArgs, color: bool, quiet: bool) -> Result<Outcome, Error> {
    let mut judging = Judging::prepare(&args.policy, args.report, color)?;
    judging.options.by_repository = true;
    if args.wait.start_scan {
        return Err(Error::Usage(
            "audit never starts a scan: drop --start-scan (an unscanned image is reported as such)"
                .to_string(),
        ));
    }
    let pushed_since = args.pushed_within.map(|d| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        now.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    });
    let selection = Selection::new(
        &args.repositories,
        &args.tags,
        pushed_since,
        args.latest as usize,
    )
    .map_err(Error::Usage)?;
    let mut wait: WaitSettings = (&args.wait).into();
    wait.once = !args.wait_for_scans;
    let mut live = Live::connect_registry(&args.aws, wait)?;
    let deadline = live.deadline;
    let api = live.clients.for_region(None).ok_or_else(|| {
        Error::Usage("no AWS region: pass --region or set AWS_REGION".to_string())
    })?;
    let registry_id = live.registry_id.clone();
    let chosen = live.runtime.block_on(async {
        let api = ecr::adaptive::Adaptive::new(api, live.concurrency);
        ecr::audit::select(&api, registry_id.as_deref(), &selection, deadline).await
    });
    let images = match chosen {
        Ok(chosen) => {
            tracing::info!(images = chosen.len(), "images to audit");
            let refs: Vec<String> = chosen.iter().map(|c| c.reference()).collect();
            live.refs = references(&refs, &args.aws).map_err(Error::Usage)?;
            live.gather(Mode::Check)
        }
        // The listing failed: the run is that error, in every report.
        Err(error) => vec![ScannedImage::failed(
            Default::default(),
            Source::Ecr {
                reference: "the registry".to_string(),
                placements: Vec::new(),
            },
            None,
            error,
        )],
    };
    let images = refuse_incomplete(&judging.policy, images);
    judging.report(&judging.judge(images), quiet)
}

fn wait(args: WaitArgs, color: bool, quiet: bool) -> Result<Outcome, Error> {
    args.promote.refuse("wait").map_err(Error::Usage)?;
    report::validate(&args.outputs).map_err(Error::Usage)?;
    if let Some(judging) = args.outputs.iter().find(|o| {
        matches!(
            o.format,
            report::Format::Sarif | report::Format::Junit | report::Format::Gitlab
        )
    }) {
        return Err(Error::Usage(format!(
            "`wait` judges nothing, so it writes no {} report (an empty SARIF upload would close every open \
             code-scanning alert): use -o console, json or markdown, or run `check`",
            judging.format
        )));
    }
    let images = Live::connect(&args.images.images, &args.aws, (&args.wait).into(), false)?
        .gather(Mode::Wait);
    // Nothing is judged: an image whose scan is usable passes, anything else is its error.
    let evaluation =
        crate::judge::evaluate(images, &Policy::default(), crate::timestamp::today_utc());
    if args.outputs.is_empty() {
        for image in &evaluation.images {
            if !quiet || image.error().is_some() {
                eprintln!("{}", console::wait_status(image));
            }
        }
        return Ok(evaluation.outcome());
    }
    let options = report::Options {
        color,
        sarif_location: None,
        include_findings: false,
        stdout_to_stderr: false,
        by_repository: false,
    };
    finish(&evaluation, &args.outputs, &options, quiet)
}

/// The policy and the reports of `evaluate` and `check`, validated before any input is read
/// or any AWS call made.
struct Judging {
    policy: Policy,
    outputs: Vec<Output>,
    options: report::Options,
}

impl Judging {
    fn prepare(policy: &PolicyArgs, report: ReportArgs, color: bool) -> Result<Self, Error> {
        Ok(Judging {
            policy: policy.resolve()?,
            outputs: report.outputs().map_err(Error::Usage)?,
            options: report::Options {
                color,
                sarif_location: report.sarif_location,
                include_findings: true,
                stdout_to_stderr: false,
                by_repository: false,
            },
        })
    }

    /// The common end of `evaluate` and `check`: judge every image, write every report.
    fn judge_and_report(&self, images: Vec<ScannedImage>, quiet: bool) -> Result<Outcome, Error> {
        self.report(&self.judge(images), quiet)
    }

    fn judge(&self, images: Vec<ScannedImage>) -> Evaluation {
        crate::judge::evaluate(images, &self.policy, crate::timestamp::today_utc())
    }

    fn report(&self, evaluation: &Evaluation, quiet: bool) -> Result<Outcome, Error> {
        finish(evaluation, &self.outputs, &self.options, quiet)
    }
}

/// Warnings and image errors to stderr, then every report. A report that cannot be written
/// never leaves the run at 0.
fn finish(
    evaluation: &Evaluation,
    outputs: &[Output],
    options: &report::Options,
    quiet: bool,
) -> Result<Outcome, Error> {
    if evaluation.images.is_empty() {
        return Err(Error::Usage("no image to judge".to_string()));
    }
    if !quiet {
        for warning in evaluation.all_warnings() {
            eprintln!("warning: {}", escape::terminal(&warning));
        }
    }
    for image in &evaluation.images {
        if let Some(error) = image.error() {
            eprintln!(
                "error: {}: {}",
                escape::terminal(&image.image.to_string()),
                escape::terminal(error.message())
            );
        }
    }
    if let Some(promotion) = &evaluation.promotion {
        // On stderr before any report: if a report still fails, the log says what moved.
        if !quiet {
            for p in &promotion.promoted {
                eprintln!(
                    "promoted {}:{} → {}",
                    escape::terminal(&p.repository),
                    escape::terminal(&p.tag),
                    escape::terminal(&p.digest)
                );
            }
        }
        if let Some(error) = promotion.error() {
            eprintln!("error: promotion: {}", escape::terminal(error.message()));
        }
    }
    report::write_all(evaluation, outputs, options).map_err(|message| Error::Report {
        message,
        outcome: evaluation.outcome(),
    })?;
    Ok(evaluation.outcome())
}

/// The live session of `check` and `wait`: the references, checked, and the runtime and AWS
/// clients that resolve, wait, fetch and (after a pass) promote through.
struct Live {
    runtime: tokio::runtime::Runtime,
    clients: Clients,
    refs: Vec<Reference>,
    registry_id: Option<String>,
    wait: WaitSettings,
    /// The run's one `--timeout`, counted once the clients are ready: listing (`audit`),
    /// waiting, reading and promoting all end by it.
    deadline: tokio::time::Instant,
    concurrency: usize,
}

impl Live {
    /// Parses and checks every reference (with `promoting`, at most one image per repository)
    /// and builds the clients. Every problem found before the first AWS call is a usage error.
    fn connect(
        images: &[String],
        aws: &AwsArgs,
        wait: WaitSettings,
        promoting: bool,
    ) -> Result<Self, Error> {
        let refs = references(images, aws).map_err(Error::Usage)?;
        if promoting {
            one_image_per_repository(&refs, aws).map_err(Error::Usage)?;
        }
        Self::start(aws, wait, refs)
    }

    /// The clients of the flags' region, with no reference yet (`audit` lists them first).
    fn connect_registry(aws: &AwsArgs, wait: WaitSettings) -> Result<Self, Error> {
        Self::start(aws, wait, Vec::new())
    }

    fn start(aws: &AwsArgs, wait: WaitSettings, refs: Vec<Reference>) -> Result<Self, Error> {
        validate_wait(&wait).map_err(Error::Usage)?;
        let settings = AwsSettings {
            // No single attempt may outlast the whole run.
            attempt_timeout: wait
                .timeout
                .clamp(Duration::from_secs(1), Duration::from_secs(60)),
            ..AwsSettings::from(aws)
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
        let clients = if refs.is_empty() {
            runtime.block_on(Clients::for_settings(&settings))
        } else {
            runtime.block_on(Clients::new(&settings, &refs))
        }
        .map_err(Error::Usage)?;
        let deadline = tokio::time::Instant::now() + wait.timeout;
        Ok(Live {
            runtime,
            clients,
            refs,
            registry_id: settings.registry_id,
            wait,
            deadline,
            concurrency: aws.concurrency as usize,
        })
    }

    /// Resolves, waits for and (in `Check` mode) fetches every image.
    fn gather(&self, mode: Mode) -> Vec<ScannedImage> {
        let targets = self
            .refs
            .iter()
            .map(|r| (r.clone(), self.clients.for_ref(r)))
            .collect();
        self.runtime.block_on(ecr::gate(
            targets,
            self.registry_id.clone(),
            &self.wait,
            self.deadline,
            mode,
            &ecr::Limits::new(self.concurrency),
        ))
    }

    /// Puts `tags` on every judged digest, each through the client it was judged through.
    fn promote(&self, evaluation: &Evaluation, tags: &[String]) -> Promotion {
        let mut images = Vec::with_capacity(evaluation.images.len());
        for judged in &evaluation.images {
            let Some(api) = self.clients.for_region(judged.image.region.as_deref()) else {
                return Promotion {
                    tags: tags.to_vec(),
                    promoted: Vec::new(),
                    status: PromotionStatus::Failed(ImageError::aws(format!(
                        "nothing promoted: no ECR client for the region of {}",
                        judged.image
                    ))),
                };
            };
            images.push((judged.image.clone(), api));
        }
        self.runtime
            .block_on(ecr::promote::promote(images, tags, self.deadline))
    }
}

/// One tag can name one image per repository: two references to one repository (by different
/// tags or digests) would leave the promoted tag on whichever was put last.
fn one_image_per_repository(refs: &[Reference], aws: &AwsArgs) -> Result<(), String> {
    let places: Vec<_> = refs
        .iter()
        .map(|r| {
            let place = (
                r.registry_id.clone().or_else(|| aws.registry_id.clone()),
                r.region.clone().or_else(|| aws.region.clone()),
                r.repository.clone(),
            );
            (place, &r.selector)
        })
        .collect();
    match ecr::promote::two_in_one_repository(&places) {
        Some((a, b)) => Err(format!(
            "`{}` and `{}` are both in {}: with --promote-tag, one tag can name only one image per repository, \
             so gate them in separate runs",
            refs[a].original, refs[b].original, refs[b].repository
        )),
        None => Ok(()),
    }
}

fn validate_wait(wait: &WaitSettings) -> Result<(), String> {
    if wait.poll_interval.is_zero() {
        return Err("--poll-interval must be more than 0".to_string());
    }
    if wait.max_poll_interval < wait.poll_interval {
        let show = |d: Duration| humantime::format_duration(d).to_string();
        return Err(format!(
            "--max-poll-interval ({}) is shorter than --poll-interval ({})",
            show(wait.max_poll_interval),
            show(wait.poll_interval)
        ));
    }
    Ok(())
}

/// Every reference parsed, and none contradicting `--region` / `--registry-id`.
fn references(images: &[String], aws: &AwsArgs) -> Result<Vec<Reference>, String> {
    let mut refs = Vec::new();
    let mut problems = Vec::new();
    for text in images.iter().filter(|t| !t.trim().is_empty()) {
        match image_ref::parse(text) {
            Ok(r) => {
                if let (Some(uri), Some(flag)) = (&r.region, &aws.region) {
                    if uri != flag {
                        problems.push(format!(
                            "image `{text}` is in region {uri} but --region says {flag}"
                        ));
                    }
                }
                if let (Some(uri), Some(flag)) = (&r.registry_id, &aws.registry_id) {
                    if uri != flag {
                        problems.push(format!(
                            "image `{text}` is in registry {uri} but --registry-id says {flag}"
                        ));
                    }
                }
                refs.push(r);
            }
            Err(e) => problems.push(e),
        }
    }
    if refs.is_empty() && problems.is_empty() {
        problems.push("no image reference given".to_string());
    }
    if problems.is_empty() {
        Ok(refs)
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(region: Option<&str>, registry: Option<&str>) -> AwsArgs {
        AwsArgs {
            region: region.map(str::to_string),
            profile: None,
            registry_id: registry.map(str::to_string),
            endpoint_url: None,
            max_attempts: 3,
            concurrency: 8,
        }
    }

    #[test]
    fn uri_contradicting_flags_is_a_usage_error() {
        let uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:v1".to_string();
        assert!(references(
            std::slice::from_ref(&uri),
            &aws(Some("us-east-1"), Some("123456789012"))
        )
        .is_ok());
        let err =
            references(std::slice::from_ref(&uri), &aws(Some("eu-west-1"), None)).unwrap_err();
        assert!(err.contains("--region"), "{err}");
        let err = references(&[uri], &aws(None, Some("210987654321"))).unwrap_err();
        assert!(err.contains("--registry-id"), "{err}");
    }

    #[test]
    fn every_bad_reference_is_named() {
        let err = references(
            &["Bad:ref".into(), "ok/repo".into(), "x@sha256:1".into()],
            &aws(None, None),
        )
        .unwrap_err();
        assert!(
            err.contains("Bad:ref") && err.contains("x@sha256:1"),
            "{err}"
        );
    }
}
