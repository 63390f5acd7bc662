//! Command-line definitions (clap), each flag also read from `ECR_SCAN_GATE_<FLAG>`, and their
//! validation into settings the rest of the program uses. Precedence: flag > environment
//! variable > policy file > default.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::ecr::sdk::AwsSettings;
use crate::ecr::WaitSettings;
use crate::findings::Severity;
use crate::policy::{file, Budget, FailOn, Overrides, Policy};
use crate::report::{self, Output};

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "ecr-scan-gate",
    version,
    about = "Gate CI on Amazon ECR image scan findings (basic and enhanced scanning)",
    long_about = None,
    after_help = "Exit codes: 0 pass, 1 policy violation, 2 usage or configuration error, \
                  3 scan not usable, 4 AWS error.\nEvery flag can also be set with an \
                  ECR_SCAN_GATE_<FLAG> environment variable (e.g. ECR_SCAN_GATE_FAIL_ON=critical)."
)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,

    /// More logging on stderr: -v logs every poll and API call, -vv traces (RUST_LOG overrides)
    #[arg(short, long, action = ArgAction::Count, global = true, env = "ECR_SCAN_GATE_VERBOSE")]
    pub verbose: u8,

    /// Only errors on stderr (no warnings, no progress)
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        env = "ECR_SCAN_GATE_QUIET",
        value_parser = BoolishValueParser::new()
    )]
    pub quiet: bool,

    /// Colour in console output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, env = "ECR_SCAN_GATE_COLOR")]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set
    Auto,
    // No doc comments: clap would print them as the values' help text.
    #[allow(missing_docs)]
    Always,
    #[allow(missing_docs)]
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live gate: resolve each image, wait for its scan, fetch every finding, judge, report
    Check(Box<CheckArgs>),
    /// Offline gate over saved `aws ecr describe-image-scan-findings` JSON
    Evaluate(EvaluateArgs),
    /// Wait until each image's scan findings are usable (exit 0), without judging them
    Wait(WaitArgs),
    /// Judge a whole registry: the newest tagged images of every repository, as they are now
    Audit(Box<AuditArgs>),
    /// Admission webhook (HTTPS): refuse Pods and workloads whose ECR images fail the policy
    Serve(Box<ServeArgs>),
    /// Print a shell completion script
    Completions {
        /// Shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
}

/// `evaluate`: saved findings, policy and reports.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Saved JSON files (one response, an array of pages, or several files); `-` reads stdin
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Threshold, budgets, allowlist and policy file.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Which reports to write, and where.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Refused: only `check` promotes (a saved file judged offline is no image to tag).
    #[command(flatten)]
    pub promote: RefusedPromotion,
}

/// `check`: images, policy, reports, waiting and AWS.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Image references: repo, repo:tag, repo@sha256:…, or a full ECR URI
    #[arg(
        required_unless_present = "images_from",
        value_name = "IMAGE",
        env = "ECR_SCAN_GATE_IMAGES",
        value_delimiter = ' '
    )]
    pub images: Vec<String>,
    /// Also gate every image in this deployment file: Kubernetes YAML/JSON (Helm output, kubectl get -o json|yaml), an ECS task definition, a Compose file; - reads stdin (repeatable)
    #[arg(
        long = "images-from",
        value_name = "PATH",
        env = "ECR_SCAN_GATE_IMAGES_FROM",
        value_delimiter = ','
    )]
    pub images_from: Vec<String>,
    /// Images not in a private ECR registry: warn (listed, not judged), fail (exit 3) or ignore
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = NonEcr::Warn, env = "ECR_SCAN_GATE_NON_ECR")]
    pub non_ecr: NonEcr,
    /// A reference not pinned by digest is a violation (exit 1): only what was judged can be deployed
    #[arg(long, env = "ECR_SCAN_GATE_REQUIRE_DIGEST", value_parser = BoolishValueParser::new())]
    pub require_digest: bool,
    /// After a pass (exit 0), write the --images-from file with each judged ECR image pinned to its digest, atomically; - is stdout (reports then go to stderr)
    #[arg(
        long,
        value_name = "PATH",
        env = "ECR_SCAN_GATE_WRITE_PINNED",
        requires = "images_from"
    )]
    pub write_pinned: Option<String>,
    /// Threshold, budgets, allowlist and policy file.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Which reports to write, and where.
    #[command(flatten)]
    pub report: ReportArgs,
    /// How long and how often to wait for each scan.
    #[command(flatten)]
    pub wait: WaitOptions,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Judge this image too (e.g. the tag now in production): findings it also has are pre-existing
    #[arg(
        long,
        value_name = "IMAGE",
        env = "ECR_SCAN_GATE_BASELINE_IMAGE",
        conflicts_with = "baseline"
    )]
    pub baseline_image: Option<String>,
    /// After a pass (exit 0), put TAG on each judged digest (a multi-arch index's digest) in its own repository (repeatable)
    #[arg(
        long = "promote-tag",
        value_name = "TAG",
        env = "ECR_SCAN_GATE_PROMOTE_TAG",
        value_delimiter = ','
    )]
    pub promote_tags: Vec<String>,
}

/// `serve`: the webhook's listener and certificate, its decisions, the policy and AWS.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (HTTPS only)
    #[arg(
        long,
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:8443",
        env = "ECR_SCAN_GATE_LISTEN"
    )]
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain the webhook serves; re-read when the file changes
    #[arg(long, value_name = "PATH", env = "ECR_SCAN_GATE_TLS_CERT")]
    pub tls_cert: PathBuf,
    /// PEM private key of --tls-cert; re-read when the file changes
    #[arg(long, value_name = "PATH", env = "ECR_SCAN_GATE_TLS_KEY")]
    pub tls_key: PathBuf,
    /// enforce refuses what fails or cannot be judged; warn allows it with a warning (start here)
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ServeMode::Enforce, env = "ECR_SCAN_GATE_MODE")]
    pub mode: ServeMode,
    /// Every review is answered within this long (under the API server's 10 s webhook timeout)
    #[arg(long, value_name = "DURATION", default_value = "8s", value_parser = parse_duration, env = "ECR_SCAN_GATE_DECISION_TIMEOUT")]
    pub decision_timeout: Duration,
    /// How long an image's judged scan is reused, by digest (tags are resolved on every review)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration, env = "ECR_SCAN_GATE_CACHE_TTL")]
    pub cache_ttl: Duration,
    /// Allow objects in this namespace without an ECR call (repeatable)
    #[arg(
        long = "exempt-namespace",
        value_name = "NS",
        env = "ECR_SCAN_GATE_EXEMPT_NAMESPACE",
        value_delimiter = ','
    )]
    pub exempt_namespaces: Vec<String>,
    /// Images not in a private ECR registry: warn (allowed, with a warning), fail (refused) or ignore
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = NonEcr::Warn, env = "ECR_SCAN_GATE_NON_ECR")]
    pub non_ecr: NonEcr,
    /// A reference not pinned by digest is a violation: only what was judged can run
    #[arg(long, env = "ECR_SCAN_GATE_REQUIRE_DIGEST", value_parser = BoolishValueParser::new())]
    pub require_digest: bool,
    /// Under enhanced scanning, judge a scan only once it completed this long ago (a review never waits); 0 judges the answer as it is
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "ECR_SCAN_GATE_SETTLE")]
    pub settle: Duration,
    /// Log lines as text or as one JSON object per line
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text, env = "ECR_SCAN_GATE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Threshold, budgets, allowlist and policy file.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `serve --mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServeMode {
    /// Refuse what fails the policy or cannot be judged
    Enforce,
    /// Allow everything; what enforce would refuse comes back as a warning
    Warn,
}

/// `serve --log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event
    Text,
    /// One JSON object per line (for log pipelines)
    Json,
}

/// `--promote-tag` on a command that judges nothing live: accepted by the parser (flag or
/// `ECR_SCAN_GATE_PROMOTE_TAG`) only to be refused as a usage error, rather than ignored.
#[derive(Debug, Args)]
pub struct RefusedPromotion {
    /// Only `check` promotes
    #[arg(
        long = "promote-tag",
        value_name = "TAG",
        env = "ECR_SCAN_GATE_PROMOTE_TAG",
        value_delimiter = ',',
        hide = true
    )]
    pub promote_tags: Vec<String>,
}

impl RefusedPromotion {
    /// A usage error when a tag was given to `command`.
    pub fn refuse(&self, command: &str) -> Result<(), String> {
        if self.promote_tags.iter().all(|t| t.trim().is_empty()) {
            return Ok(());
        }
        Err(format!(
            "--promote-tag (or ECR_SCAN_GATE_PROMOTE_TAG) works only with `check`: `{command}` judges no live \
             image it could tag; unset the variable for this job or run `check`"
        ))
    }
}

/// The tags of `--promote-tag`, trimmed, without empties or repeats, each a valid ECR tag.
pub fn promote_tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    let mut bad = Vec::new();
    for tag in raw.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if !crate::image_ref::is_tag(tag) {
            bad.push(format!(
                "--promote-tag `{tag}` is not a valid ECR tag (1 to 300 of letters, digits, `_`, `.` and `-`, \
                 not starting with `.` or `-`)"
            ));
        } else if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    if bad.is_empty() {
        Ok(tags)
    } else {
        Err(bad.join("\n"))
    }
}

/// `wait`: images, status reports, waiting and AWS.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The images to wait for.
    #[command(flatten)]
    pub images: ImageArgs,
    /// Reports of scan status (no findings); without it one status line per image on stderr
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT[=PATH]",
        env = "ECR_SCAN_GATE_OUTPUT",
        value_delimiter = ','
    )]
    pub outputs: Vec<Output>,
    /// How long and how often to wait for each scan.
    #[command(flatten)]
    pub wait: WaitOptions,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Refused: `wait` judges nothing, so it has no pass to promote.
    #[command(flatten)]
    pub promote: RefusedPromotion,
}

/// `audit`: which repositories and images of the registry, the policy, reports and AWS.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only repositories matching GLOB (`*` crosses `/`; repeatable)
    #[arg(
        long = "repository",
        value_name = "GLOB",
        env = "ECR_SCAN_GATE_REPOSITORY",
        value_delimiter = ','
    )]
    pub repositories: Vec<String>,
    /// Only images with a tag matching GLOB (repeatable)
    #[arg(
        long = "tag",
        value_name = "GLOB",
        env = "ECR_SCAN_GATE_TAG",
        value_delimiter = ','
    )]
    pub tags: Vec<String>,
    /// Only images pushed within this long (e.g. 30d, 12h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "ECR_SCAN_GATE_PUSHED_WITHIN")]
    pub pushed_within: Option<Duration>,
    /// The newest N matching images per repository, by push time
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), env = "ECR_SCAN_GATE_LATEST")]
    pub latest: u32,
    /// Wait for scans not usable yet (without it a scan is read once, as it is now)
    #[arg(long = "wait", env = "ECR_SCAN_GATE_WAIT", value_parser = BoolishValueParser::new())]
    pub wait_for_scans: bool,
    /// Threshold, budgets, allowlist and policy file.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Which reports to write, and where.
    #[command(flatten)]
    pub report: ReportArgs,
    /// How long and how often to wait, with --wait.
    #[command(flatten)]
    pub wait: WaitOptions,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What to do with images that ECR cannot judge (another registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NonEcr {
    /// List them as not judged, with a warning.
    Warn,
    /// Each is an error of that image (exit 3).
    Fail,
    /// Drop them silently.
    Ignore,
}

/// The images `wait` looks at.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Image references: repo, repo:tag, repo@sha256:…, or a full ECR URI
    #[arg(
        required = true,
        value_name = "IMAGE",
        env = "ECR_SCAN_GATE_IMAGES",
        value_delimiter = ' '
    )]
    pub images: Vec<String>,
}

/// Flags that shape the policy (over the policy file).
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Findings at or above this severity violate: critical, high, medium, low, informational, unknown, none [default: high]
    #[arg(long, value_name = "SEVERITY", env = "ECR_SCAN_GATE_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Budget: up to N judged findings of SEVERITY pass, more all violate (repeatable; replaces the file's budget)
    #[arg(
        long = "max",
        value_name = "SEVERITY=N",
        env = "ECR_SCAN_GATE_MAX",
        value_delimiter = ','
    )]
    pub max: Vec<Budget>,
    /// Findings with no fix available do not violate (enhanced scans only); `=false` overrides a policy file's `true`
    #[arg(
        long,
        env = "ECR_SCAN_GATE_IGNORE_UNFIXED",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub ignore_unfixed: Option<bool>,
    /// Allow a vulnerability id (repeatable; adds to the policy file's allowlist)
    #[arg(
        long = "allow",
        value_name = "ID",
        env = "ECR_SCAN_GATE_ALLOW",
        value_delimiter = ','
    )]
    pub allow: Vec<String>,
    /// Policy file [default: .ecr-scan-gate.toml if present]
    #[arg(long, value_name = "FILE", env = "ECR_SCAN_GATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// OpenVEX document: not_affected/fixed statements allow findings (repeatable; adds to the policy file's)
    #[arg(
        long,
        value_name = "FILE",
        env = "ECR_SCAN_GATE_VEX",
        value_delimiter = ','
    )]
    pub vex: Vec<PathBuf>,
    /// CISA KEV catalog (known_exploited_vulnerabilities.json): a finding in it violates whatever its severity
    #[arg(long, value_name = "FILE", env = "ECR_SCAN_GATE_KEV")]
    pub kev: Option<PathBuf>,
    /// FIRST EPSS daily scores (epss_scores-YYYY-MM-DD.csv, plain or .gz), shown on findings
    #[arg(long, value_name = "FILE", env = "ECR_SCAN_GATE_EPSS")]
    pub epss: Option<PathBuf>,
    /// A finding with an EPSS probability at or above P (0 to 1) violates whatever its severity
    #[arg(long, value_name = "P", env = "ECR_SCAN_GATE_FAIL_ON_EPSS", value_parser = file::parse_probability)]
    pub fail_on_epss: Option<f64>,
    /// A finding Amazon Inspector knows an exploit for, at or above SEVERITY, violates
    #[arg(
        long,
        value_name = "SEVERITY",
        env = "ECR_SCAN_GATE_FAIL_ON_EXPLOITABLE"
    )]
    pub fail_on_exploitable: Option<Severity>,
    /// JSON report of this tool (e.g. of the image in production): findings also in it are pre-existing
    #[arg(long, value_name = "FILE", env = "ECR_SCAN_GATE_BASELINE")]
    pub baseline: Option<PathBuf>,
}

/// Which reports to write, and where.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report FORMAT to PATH, or to stdout without `=PATH` (repeatable): console, json, sarif, junit, markdown, gitlab [default: console]
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT[=PATH]",
        env = "ECR_SCAN_GATE_OUTPUT",
        value_delimiter = ','
    )]
    pub outputs: Vec<Output>,
    /// File every SARIF result points at (e.g. Dockerfile) [default: the repository name]
    #[arg(long, value_name = "PATH", env = "ECR_SCAN_GATE_SARIF_LOCATION")]
    pub sarif_location: Option<String>,
}

/// How long and how often to wait for a scan.
#[derive(Debug, Args, Clone)]
pub struct WaitOptions {
    /// Give up waiting for a usable scan after this long (seconds or 90s, 10m…)
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration, env = "ECR_SCAN_GATE_TIMEOUT")]
    pub timeout: Duration,
    /// First delay between scan status polls
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, env = "ECR_SCAN_GATE_POLL_INTERVAL")]
    pub poll_interval: Duration,
    /// Longest delay between polls (backoff grows up to it)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "ECR_SCAN_GATE_MAX_POLL_INTERVAL")]
    pub max_poll_interval: Duration,
    /// How long "scan not found" and a tag not yet visible (ImageNotFound) are retried after the start (scan on push registers late; a tag just pushed can be invisible for a moment)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, env = "ECR_SCAN_GATE_SCAN_GRACE")]
    pub scan_grace: Duration,
    /// Under enhanced scanning, judge findings only once they stayed the same this long (or the scan completed this long ago); 0 judges the first answer
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "ECR_SCAN_GATE_SETTLE")]
    pub settle: Duration,
    /// Start a basic scan when none exists (one manual scan per image per 24 h)
    #[arg(long, env = "ECR_SCAN_GATE_START_SCAN", value_parser = BoolishValueParser::new())]
    pub start_scan: bool,
}

/// How to reach AWS.
#[derive(Debug, Args, Clone)]
pub struct AwsArgs {
    /// AWS region [default: from the AWS config chain or the image URI]
    #[arg(long, value_name = "REGION", env = "ECR_SCAN_GATE_REGION")]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config
    #[arg(long, value_name = "NAME", env = "ECR_SCAN_GATE_PROFILE")]
    pub profile: Option<String>,
    /// Registry (account) id [default: from the image URI, else the caller's account]
    #[arg(long, value_name = "ID", env = "ECR_SCAN_GATE_REGISTRY_ID")]
    pub registry_id: Option<String>,
    /// ECR endpoint (also AWS_ENDPOINT_URL); for local emulators and tests
    #[arg(long, value_name = "URL", env = "ECR_SCAN_GATE_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// SDK attempts per AWS call for 5xx and network errors (standard retry mode); throttling is retried by the gate itself, with fewer calls in flight
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20), env = "ECR_SCAN_GATE_MAX_ATTEMPTS")]
    pub max_attempts: u32,
    /// ECR calls in flight at once per region: a cap; adapts down on throttling, back up as calls succeed
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=64), env = "ECR_SCAN_GATE_CONCURRENCY")]
    pub concurrency: u32,
}

/// Parses the command line. An `ECR_SCAN_GATE_*` variable that is set but empty counts as
/// unset: CI systems often define every variable of a template, empty when unused.
pub fn parse() -> Result<Cli, clap::Error> {
    for (key, value) in std::env::vars_os() {
        if value.is_empty() && key.to_string_lossy().starts_with("ECR_SCAN_GATE_") {
            // Still single-threaded: nothing else reads the environment yet.
            std::env::remove_var(&key);
        }
    }
    Cli::try_parse()
}

/// The longest duration any flag takes: beyond it a deadline cannot be represented.
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

/// A bare number of seconds or a humantime duration (`90s`, `10m`, `1h30m`), at most a year.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let duration = match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("`{text}` is too large a duration (at most a year)"))?,
        Ok(_) => return Err(format!("`{text}` is not a duration")),
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| format!("`{text}` is not a duration (e.g. 90, 90s, 10m): {e}"))?,
    };
    if duration > LONGEST {
        return Err(format!("`{text}` is too large a duration (at most a year)"));
    }
    Ok(duration)
}

impl PolicyArgs {
    /// The policy in force: the file (explicit, or `.ecr-scan-gate.toml` when present) under
    /// the flags. Any mistake in the file is a configuration error.
    pub fn resolve(&self) -> Result<Policy, file::ConfigError> {
        let path = match &self.policy {
            Some(path) => Some(path.clone()),
            None => {
                let default = PathBuf::from(file::DEFAULT_PATH);
                default.is_file().then_some(default)
            }
        };
        let file = path.map(|p| file::load(&p)).transpose()?;
        Policy::resolve(
            file,
            Overrides {
                fail_on: self.fail_on,
                budgets: self.max.clone(),
                ignore_unfixed: self.ignore_unfixed,
                allow: self
                    .allow
                    .iter()
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect(),
                vex: self.vex.clone(),
                kev: self.kev.clone(),
                epss: self.epss.clone(),
                fail_on_epss: self.fail_on_epss,
                fail_on_exploitable: self.fail_on_exploitable,
                baseline: self.baseline.clone(),
            },
        )
    }
}

impl ReportArgs {
    /// The reports asked for (`console` to stdout by default), checked for clashes.
    pub fn outputs(&self) -> Result<Vec<Output>, String> {
        let outputs = if self.outputs.is_empty() {
            vec![Output {
                format: report::Format::Console,
                path: None,
            }]
        } else {
            self.outputs.clone()
        };
        report::validate(&outputs)?;
        Ok(outputs)
    }
}

impl From<&WaitOptions> for WaitSettings {
    fn from(o: &WaitOptions) -> Self {
        WaitSettings {
            timeout: o.timeout,
            poll_interval: o.poll_interval,
            max_poll_interval: o.max_poll_interval,
            scan_grace: o.scan_grace,
            settle: o.settle,
            start_scan: o.start_scan,
            once: false,
        }
    }
}

impl From<&AwsArgs> for AwsSettings {
    fn from(a: &AwsArgs) -> Self {
        AwsSettings {
            region: a.region.clone(),
            profile: a.profile.clone(),
            registry_id: a.registry_id.clone(),
            endpoint_url: a.endpoint_url.clone(),
            max_attempts: a.max_attempts,
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_seconds_or_humantime() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("1e30").unwrap_err().contains("too large"));
        assert!(parse_duration("500y").unwrap_err().contains("too large"));
    }

    #[test]
    fn promote_tags_are_ecr_tags_trimmed_once_each() {
        let raw = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            promote_tags(&raw(&["staging", " prod ", "", "staging", "_x.1-a"])).unwrap(),
            ["staging", "prod", "_x.1-a"]
        );
        for bad in ["a/b", "has space", "-dash", ".dot", "ü", &"a".repeat(301)] {
            let e = promote_tags(&raw(&[bad])).unwrap_err();
            assert!(e.contains("not a valid ECR tag"), "{bad}: {e}");
        }
        assert!(promote_tags(&raw(&[&"a".repeat(300)])).is_ok());
    }
}
