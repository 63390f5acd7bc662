//! `check` and `wait`: validate references and AWS flags (exit 2 before any call), run the
//! ECR steps on a Tokio runtime, then hand the images to the same policy and reports as the
//! offline `evaluate`.

use crate::cli::{AwsArgs, CheckArgs, WaitArgs, WaitOptions};
use crate::ecr::{self, AwsSettings, Mode, WaitSettings};
use crate::findings::ScannedImage;
use crate::image_ref::{self, ImageRef};
use crate::policy::{self, Policy};
use crate::report::{self, escape};
use crate::run::{finish, judge_and_report, prepare, usage_error};

pub fn check(args: CheckArgs, color: bool, quiet: bool) -> u8 {
    let (policy, outputs) = match prepare(&args.policy, &args.report) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let images = match gather(&args.images, &args.aws, &args.wait, Mode::Check) {
        Ok(images) => images,
        Err(code) => return code,
    };
    judge_and_report(images, &policy, &args.report, &outputs, color, quiet)
}

pub fn wait(args: WaitArgs, color: bool, quiet: bool) -> u8 {
    if let Err(e) = report::validate(&args.outputs) {
        return usage_error(&e);
    }
    let images = match gather(&args.images, &args.aws, &args.wait, Mode::Wait) {
        Ok(images) => images,
        Err(code) => return code,
    };
    // Nothing is judged: an image whose scan is usable passes, anything else is its error.
    let evaluation = policy::evaluate(images, &Policy::default(), crate::timestamp::today_utc());
    if args.outputs.is_empty() {
        for image in &evaluation.images {
            let line = match (&image.error, &image.scan) {
                (Some(e), _) => format!("{}: not usable: {}", image.image, e.message),
                (None, Some(scan)) => format!("{}: scan {} (usable)", image.image, scan.status),
                (None, None) => format!("{}: usable", image.image),
            };
            if !quiet || image.error.is_some() {
                eprintln!("{}", escape::terminal(&line));
            }
        }
        return evaluation.exit_code;
    }
    let options = report::Options {
        color,
        sarif_location: None,
        include_findings: false,
    };
    finish(&evaluation, &args.outputs, &options, quiet)
}

/// Parses and checks every reference, then resolves, waits and fetches. `Err` is an exit code
/// for a usage error, decided before any AWS call.
fn gather(
    images: &[String],
    aws: &AwsArgs,
    wait: &WaitOptions,
    mode: Mode,
) -> Result<Vec<ScannedImage>, u8> {
    let refs = references(images, aws).map_err(|e| usage_error(&e))?;
    wait.validate().map_err(|e| usage_error(&e))?;
    let settings = AwsSettings {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        registry_id: aws.registry_id.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        max_attempts: aws.max_attempts,
    };
    let wait = WaitSettings {
        timeout: wait.timeout,
        poll_interval: wait.poll_interval,
        max_poll_interval: wait.max_poll_interval,
        scan_grace: wait.scan_grace,
        start_scan: wait.start_scan,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage_error(&format!("cannot start the async runtime: {e}")))?;
    runtime
        .block_on(ecr::gate(
            refs,
            &settings,
            &wait,
            mode,
            aws.concurrency as usize,
        ))
        .map_err(|e| usage_error(&e))
}

/// Every reference parsed, and none contradicting `--region` / `--registry-id`.
fn references(images: &[String], aws: &AwsArgs) -> Result<Vec<ImageRef>, String> {
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
