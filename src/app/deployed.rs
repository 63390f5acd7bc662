//! `check --images-from` around the live gate: the deployment files read before any AWS call,
//! each judged image given the places it is named (one image per digest, however many places),
//! the images ECR cannot judge, and after a pass the pinned file.

use std::io::Write;
use std::path::Path;

use crate::cli::{CheckArgs, NonEcr};
use crate::deploy::plan::Plan;
use crate::error::Error;
use crate::evaluation::Evaluation;
use crate::findings::{Image, ImageError, ScannedImage, Source};

/// The files of `--images-from`, read and checked: every problem is exit 2 before AWS.
pub fn read(args: &CheckArgs) -> Result<Option<Plan>, Error> {
    if args.images_from.is_empty() {
        return Ok(None);
    }
    if args.write_pinned.is_some() && args.images_from.len() != 1 {
        return Err(Error::Usage(
            "--write-pinned writes one file: give exactly one --images-from with it".to_string(),
        ));
    }
    Plan::read(&args.images_from)
        .map(Some)
        .map_err(|e| Error::Usage(e.to_string()))
}

/// Gives each judged image the places the files name it, merges the images of one digest
/// reached by several references, and turns the images ECR cannot judge into warnings
/// (`warn`), image errors (`fail`) or nothing (`ignore`).
pub fn place(
    plan: &Plan,
    images: Vec<ScannedImage>,
    non_ecr: NonEcr,
) -> (Vec<ScannedImage>, Vec<String>) {
    let mut placed: Vec<ScannedImage> = Vec::with_capacity(images.len());
    for mut image in images {
        if let Source::Ecr {
            reference,
            placements,
        } = &mut image.source
        {
            *placements = plan.placements_of(reference);
        }
        let same = placed.iter_mut().find(|p| {
            image.image.digest.is_some()
                && p.image.digest == image.image.digest
                && p.image.platform == image.image.platform
                && p.image.repository == image.image.repository
                && p.image.registry_id == image.image.registry_id
                && p.image.region == image.image.region
        });
        match (same, &image.source) {
            (Some(first), Source::Ecr { placements, .. }) => {
                if let Source::Ecr {
                    placements: all, ..
                } = &mut first.source
                {
                    all.extend(placements.iter().cloned());
                }
            }
            _ => placed.push(image),
        }
    }
    let mut warnings = Vec::new();
    for (value, placement) in plan.not_ecr() {
        let why = "not in a private ECR registry: cannot be judged";
        match non_ecr {
            NonEcr::Ignore => {}
            NonEcr::Warn => warnings.push(format!(
                "{value} ({}) is {why}; not judged (--non-ecr fail refuses it)",
                placement.describe()
            )),
            NonEcr::Fail => placed.push(ScannedImage::failed(
                Image {
                    repository: value.clone(),
                    ..Default::default()
                },
                Source::Ecr {
                    reference: value.clone(),
                    placements: vec![placement.clone()],
                },
                None,
                ImageError::scan(format!("{value} ({}) is {why}", placement.describe())),
            )),
        }
    }
    (placed, warnings)
}

/// The pinned file, after a pass: to stdout for `-`, else atomically (a temporary file beside
/// it, then a rename), so PATH is either as it was or whole.
pub fn write_pinned(plan: &Plan, evaluation: &Evaluation, path: &str) -> Result<(), Error> {
    let pinned = plan
        .pinned(|lookup| {
            evaluation.images.iter().find_map(|i| match &i.source {
                // A multi-arch index is pinned to the index, which every platform passed.
                Source::Ecr { reference, .. } if reference == lookup => i
                    .image
                    .index_digest
                    .clone()
                    .or_else(|| i.image.digest.clone()),
                _ => None,
            })
        })
        .map_err(|e| Error::Usage(e.to_string()))?;
    let failed =
        |e: std::io::Error| Error::Usage(format!("cannot write the pinned file {path}: {e}"));
    if path == "-" {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(pinned.as_bytes())
            .and_then(|()| out.flush())
            .map_err(failed);
    }
    let target = Path::new(path);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, pinned.as_bytes())
        .and_then(|()| std::fs::rename(&temporary, target))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
        .map_err(failed)
}
