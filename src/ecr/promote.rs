//! `check --promote-tag`: after a pass, put each tag on each judged digest (a multi-arch index's
//! digest for its platform images) by `PutImage` of the very manifest bytes ECR stores for it.
//! Nothing here resolves a tag to decide what to promote: the digests come from the judged
//! images, so what is tagged is exactly what passed, even if the source tag moved meanwhile.
//!
//! Every manifest is read and checked before the first tag is put, so a read that fails leaves
//! the registry untouched. The first refusal stops the promotion; tags already put stay and are
//! reported with the error.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::api::{Manifest, ScanApi};
use crate::evaluation::{promotion_digest, Promoted, Promotion, PromotionStatus};
use crate::findings::{Image, ImageError};

/// The longest transient faults of the promotion's calls are retried, within what is left of
/// `--timeout`: the verdict is already decided, so an outage should not hold the pipeline for
/// the rest of a long `--timeout` either.
pub const BUDGET: Duration = Duration::from_secs(60);

/// Signed Docker schema 1 manifests are digested without their signatures, so their bytes do
/// not hash to their digest; ECR still checks the digest `PutImage` asserts.
const SIGNED_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// One digest to tag, with the client of its region.
struct Target<A> {
    api: A,
    /// The repository, registry, region and digest to tag; no tag of its own.
    image: Image,
}

/// Puts every tag on every judged digest of `images` (each paired with the client of its
/// region), retrying faults until the run's `deadline` (`--timeout`) at the latest. Call it only
/// when the gate passed; the result goes into the evaluation.
pub async fn promote<A: ScanApi>(
    images: Vec<(Image, A)>,
    tags: &[String],
    deadline: Instant,
) -> Promotion {
    let now = Instant::now();
    // A gate that passed at the deadline still promotes: each call is tried once, nothing is
    // retried, and a call in flight gets what any call at the deadline gets (`DEADLINE_GRACE`).
    let deadline = deadline.min(now + BUDGET).max(now);
    let mut promoted = Vec::new();
    let status = match run(images, tags, deadline, &mut promoted).await {
        Ok(()) => PromotionStatus::Done,
        Err(error) => PromotionStatus::Failed(error),
    };
    Promotion {
        tags: tags.to_vec(),
        promoted,
        status,
    }
}

async fn run<A: ScanApi>(
    images: Vec<(Image, A)>,
    tags: &[String],
    deadline: Instant,
    promoted: &mut Vec<Promoted>,
) -> Result<(), ImageError> {
    let targets = targets(images)?;
    let mut manifests = Vec::with_capacity(targets.len());
    for target in &targets {
        manifests.push(read_manifest(target, deadline).await?);
    }
    for (target, manifest) in targets.iter().zip(&manifests) {
        for tag in tags {
            let unchanged = put(target, tag, manifest, deadline).await?;
            let image = &target.image;
            let digest = image.digest.clone().expect("a target has a digest");
            tracing::info!(image = %image, %tag, unchanged, "promoted");
            promoted.push(Promoted {
                repository: image.repository.clone(),
                registry_id: image.registry_id.clone(),
                region: image.region.clone(),
                tag: tag.clone(),
                digest,
                unchanged,
            });
        }
    }
    Ok(())
}

/// The rule "one tag names one image per repository", in one place: the first two items (by
/// index) in one place (registry, region, repository) that name different images. `app`
/// applies it to the references before any AWS call, [`targets`] to the judged digests.
pub fn two_in_one_repository<P: PartialEq, I: PartialEq>(
    items: &[(P, I)],
) -> Option<(usize, usize)> {
    items.iter().enumerate().find_map(|(b, (place, image))| {
        items[..b]
            .iter()
            .position(|(p, i)| p == place && i != image)
            .map(|a| (a, b))
    })
}

/// The distinct digests to tag, in the order judged. One tag names one image per repository:
/// two different judged digests in one repository would leave the tag on whichever came last,
/// so that is refused before anything is written.
fn targets<A: ScanApi>(images: Vec<(Image, A)>) -> Result<Vec<Target<A>>, ImageError> {
    let mut places = Vec::with_capacity(images.len());
    for (image, _) in &images {
        let Some(digest) = promotion_digest(image) else {
            return Err(ImageError::aws(format!(
                "nothing promoted: {image} was judged without a digest"
            )));
        };
        let place = (
            image.registry_id.clone(),
            image.region.clone(),
            image.repository.clone(),
        );
        places.push((place, digest.to_string()));
    }
    if let Some((a, b)) = two_in_one_repository(&places) {
        return Err(ImageError::aws(format!(
            "nothing promoted: {} has two judged images ({} and {}) and one tag can name only one \
             of them; promote each repository's image in its own run",
            images[b].0.repository, places[a].1, places[b].1
        )));
    }
    // Without a conflict every image of one place is the same digest: each place is one target.
    let mut targets: Vec<Target<A>> = Vec::new();
    let mut seen = Vec::new();
    for ((image, api), (place, digest)) in images.into_iter().zip(places) {
        if seen.contains(&place) {
            continue;
        }
        seen.push(place);
        targets.push(Target {
            api,
            image: Image {
                tag: None,
                digest: Some(digest),
                platform: None,
                index_digest: None,
                ..image
            },
        });
    }
    Ok(targets)
}

/// The manifest stored for the target's digest, checked to hash to it: the bytes put under the
/// new tag are then the bytes judged, whatever ECR or a proxy did in between.
async fn read_manifest<A: ScanApi>(
    target: &Target<A>,
    deadline: Instant,
) -> Result<Manifest, ImageError> {
    let image = &target.image;
    let manifest = super::retry::call(deadline, "BatchGetImage", || target.api.manifest(image))
        .await
        .map_err(|e| nothing_promoted(e.into_image_error("ecr:BatchGetImage", image)))?;
    let digest = image.digest.as_deref().unwrap_or_default();
    if manifest.media_type.as_deref() != Some(SIGNED_SCHEMA1) {
        let actual = sha256(&manifest.body);
        if actual != digest {
            return Err(ImageError::aws(format!(
                "nothing promoted: the manifest ecr:BatchGetImage returned for {image} hashes to {actual}, not to the \
                 digest judged"
            )));
        }
    }
    Ok(manifest)
}

fn nothing_promoted(error: ImageError) -> ImageError {
    ImageError::aws(format!("nothing promoted: {}", error.message()))
}

/// `sha256:<hex>` of the bytes, as image digests are written.
pub fn sha256(body: &str) -> String {
    let hash = Sha256::digest(body.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Puts one tag; `Ok(true)` when the tag already named the digest. ECR answers a put that
/// changes nothing with `ImageAlreadyExistsException`, and an immutable repository whose tag
/// exists with `ImageTagAlreadyExistsException` (some emulators with the former): either way,
/// where the tag is now decides whether it is already in place or a refusal.
async fn put<A: ScanApi>(
    target: &Target<A>,
    tag: &str,
    manifest: &Manifest,
    deadline: Instant,
) -> Result<bool, ImageError> {
    let image = &target.image;
    let tagged = Image {
        tag: Some(tag.to_string()),
        ..image.clone()
    };
    let refusal = match super::retry::call(deadline, "PutImage", || {
        target.api.put_image(image, tag, manifest)
    })
    .await
    {
        Ok(()) => return Ok(false),
        Err(e) => e,
    };
    let code = refusal.code().unwrap_or_default().to_string();
    if !matches!(
        code.as_str(),
        "ImageAlreadyExistsException" | "ImageTagAlreadyExistsException"
    ) {
        return Err(refusal.into_image_error("ecr:PutImage", &tagged));
    }
    // Asked by tag only to see where it points now; what to promote was decided by the judge.
    let now = Image {
        digest: None,
        ..tagged.clone()
    };
    let found = super::retry::call(deadline, "DescribeImages", || {
        target.api.describe_image(&now)
    })
    .await;
    let digest = image.digest.as_deref().unwrap_or_default();
    match found {
        Ok(detail) if detail.digest == digest => Ok(true),
        Ok(detail) => Err(ImageError::aws(format!(
            "ecr:PutImage refused to move {}:{tag} to {digest} ({code}): the tag stays on {}. The repository's tags are \
             immutable: promote with a new tag, or let this tag move (imageTagMutability MUTABLE, or a mutability \
             exclusion filter for it)",
            image.repository, detail.digest
        ))),
        // Where the tag is cannot be read: the refusal stands, with its own hint.
        Err(_) => Err(refusal.into_image_error("ecr:PutImage", &tagged)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecr::api::ImageDetail;
    use crate::ecr::scripted::{service, Scripted};

    const OCI_IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
    const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

    fn manifest(body: &str, media_type: &str) -> Manifest {
        Manifest {
            body: body.to_string(),
            media_type: Some(media_type.to_string()),
        }
    }

    fn judged(digest: &str) -> Image {
        Image {
            repository: "app/web".into(),
            registry_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            tag: Some("v1".into()),
            digest: Some(digest.to_string()),
            ..Image::default()
        }
    }

    /// A promotion with the whole `--timeout` of the run still ahead.
    async fn promote_soon(images: Vec<(Image, Scripted)>, tags: &[String]) -> Promotion {
        promote(images, tags, Instant::now() + Duration::from_secs(1800)).await
    }

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn puts(api: &Scripted) -> Vec<String> {
        api.calls()
            .into_iter()
            .filter(|c| c.starts_with("put_image"))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn each_tag_goes_on_the_judged_digest_with_the_stored_bytes() {
        let body = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        let digest = sha256(body);
        let api = Scripted::new()
            .manifest(Ok(manifest(body, OCI_IMAGE)))
            .put(Ok(()));
        let promotion = promote_soon(
            vec![(judged(&digest), api.clone())],
            &tags(&["staging", "qa"]),
        )
        .await;
        assert_eq!(promotion.status, PromotionStatus::Done);
        let got: Vec<(&str, &str, bool)> = promotion
            .promoted
            .iter()
            .map(|p| (p.tag.as_str(), p.digest.as_str(), p.unchanged))
            .collect();
        assert_eq!(
            got,
            [
                ("staging", digest.as_str(), false),
                ("qa", digest.as_str(), false)
            ]
        );
        assert_eq!(
            puts(&api),
            [
                format!("put_image app/web@{digest} tag=staging type={OCI_IMAGE} {body}"),
                format!("put_image app/web@{digest} tag=qa type={OCI_IMAGE} {body}"),
            ]
        );
        assert_eq!(api.count("describe_image"), 0, "no tag is resolved");
    }

    #[tokio::test(start_paused = true)]
    async fn platform_images_of_an_index_tag_the_index_once() {
        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let digest = sha256(index);
        let platform = |p: char, name: &str| Image {
            digest: Some(format!("sha256:{}", p.to_string().repeat(64))),
            platform: Some(name.to_string()),
            index_digest: Some(digest.clone()),
            ..judged(&digest)
        };
        let api = Scripted::new()
            .manifest(Ok(manifest(index, OCI_INDEX)))
            .put(Ok(()));
        let promotion = promote_soon(
            vec![
                (platform('1', "linux/amd64"), api.clone()),
                (platform('2', "linux/arm64"), api.clone()),
            ],
            &tags(&["staging"]),
        )
        .await;
        assert_eq!(promotion.status, PromotionStatus::Done);
        assert_eq!(
            puts(&api),
            [format!(
                "put_image app/web@{digest} tag=staging type={OCI_INDEX} {index}"
            )]
        );
        assert_eq!(api.calls()[0], format!("manifest app/web@{digest}"));
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_that_do_not_hash_to_the_judged_digest_are_never_put() {
        let api = Scripted::new()
            .manifest(Ok(manifest(r#"{"schemaVersion":2}"#, OCI_IMAGE)))
            .put(Ok(()));
        let judged_digest = format!("sha256:{}", "a".repeat(64));
        let promotion = promote_soon(
            vec![(judged(&judged_digest), api.clone())],
            &tags(&["staging"]),
        )
        .await;
        let error = promotion.error().expect("refused");
        assert_eq!(error.exit_code(), 4);
        assert!(error.message().contains("hashes to"), "{error}");
        assert!(puts(&api).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_manifest_that_cannot_be_read_promotes_nothing_anywhere() {
        let body = r#"{"schemaVersion":2,"layers":[]}"#;
        let good = Scripted::new()
            .manifest(Ok(manifest(body, OCI_IMAGE)))
            .put(Ok(()));
        let denied = Scripted::new().manifest(Err(service("AccessDeniedException")));
        let other = Image {
            repository: "app/api".into(),
            ..judged(&format!("sha256:{}", "b".repeat(64)))
        };
        let promotion = promote_soon(
            vec![(judged(&sha256(body)), good.clone()), (other, denied)],
            &tags(&["staging"]),
        )
        .await;
        let error = promotion.error().expect("refused");
        assert!(
            error.message().contains("nothing promoted")
                && error.message().contains("ecr:BatchGetImage"),
            "{error}"
        );
        assert!(
            puts(&good).is_empty(),
            "every manifest is read before any tag is put"
        );
        assert!(promotion.promoted.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_tag_already_on_the_digest_is_a_no_op() {
        let body = r#"{"schemaVersion":2,"layers":[]}"#;
        let digest = sha256(body);
        for code in [
            "ImageAlreadyExistsException",
            "ImageTagAlreadyExistsException",
        ] {
            let api = Scripted::new()
                .manifest(Ok(manifest(body, OCI_IMAGE)))
                .put(Err(service(code)))
                .describe(Ok(ImageDetail {
                    digest: digest.clone(),
                    registry_id: None,
                    media_type: None,
                }));
            let promotion =
                promote_soon(vec![(judged(&digest), api.clone())], &tags(&["staging"])).await;
            assert_eq!(promotion.status, PromotionStatus::Done, "{code}");
            assert!(promotion.promoted[0].unchanged);
            assert!(
                api.calls()
                    .contains(&"describe_image app/web:staging".to_string()),
                "{:?}",
                api.calls()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_immutable_tag_on_another_image_is_exit_4_with_the_hint() {
        let body = r#"{"schemaVersion":2,"layers":[]}"#;
        let digest = sha256(body);
        let elsewhere = format!("sha256:{}", "e".repeat(64));
        for code in [
            "ImageAlreadyExistsException",
            "ImageTagAlreadyExistsException",
        ] {
            let api = Scripted::new()
                .manifest(Ok(manifest(body, OCI_IMAGE)))
                .put(Err(service(code)))
                .describe(Ok(ImageDetail {
                    digest: elsewhere.clone(),
                    registry_id: None,
                    media_type: None,
                }));
            let promotion =
                promote_soon(vec![(judged(&digest), api)], &tags(&["staging", "qa"])).await;
            let error = promotion.error().expect("refused");
            assert_eq!(error.exit_code(), 4);
            assert!(
                error.message().contains("immutable") && error.message().contains(&elsewhere),
                "{error}"
            );
            assert!(promotion.promoted.is_empty(), "the first refusal stops it");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn access_denied_names_the_iam_action() {
        let body = r#"{"schemaVersion":2,"layers":[]}"#;
        let digest = sha256(body);
        let api = Scripted::new()
            .manifest(Ok(manifest(body, OCI_IMAGE)))
            .put(Err(service("AccessDeniedException")));
        let promotion =
            promote_soon(vec![(judged(&digest), api.clone())], &tags(&["staging"])).await;
        let error = promotion.error().expect("refused");
        assert!(
            error.message().contains("ecr:PutImage failed")
                && error.message().contains("must allow ecr:PutImage"),
            "{error}"
        );
        assert_eq!(api.count("put_image"), 1, "a refusal is not asked again");
    }

    #[tokio::test(start_paused = true)]
    async fn two_judged_images_in_one_repository_are_refused_before_any_call() {
        let api = Scripted::new();
        let a = judged(&format!("sha256:{}", "a".repeat(64)));
        let b = judged(&format!("sha256:{}", "b".repeat(64)));
        let promotion = promote_soon(
            vec![(a, api.clone()), (b, api.clone())],
            &tags(&["staging"]),
        )
        .await;
        let error = promotion.error().expect("refused");
        assert!(
            error.message().contains("one tag can name only one"),
            "{error}"
        );
        assert!(api.calls().is_empty());
    }

    /// A stored manifest and a put that fails with a server error every time.
    fn failing_puts() -> (Scripted, String) {
        let body = r#"{"schemaVersion":2,"layers":[]}"#;
        let api = Scripted::new()
            .manifest(Ok(manifest(body, OCI_IMAGE)))
            .put(Err(service("ServerException")));
        (api, sha256(body))
    }

    #[tokio::test(start_paused = true)]
    async fn promotion_retries_stop_at_the_run_deadline_not_a_minute_later() {
        let (api, digest) = failing_puts();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(5);
        let promotion = promote(
            vec![(judged(&digest), api.clone())],
            &tags(&["staging"]),
            deadline,
        )
        .await;
        let error = promotion.error().expect("still failing at the deadline");
        assert_eq!(error.exit_code(), 4);
        assert!(Instant::now() <= deadline, "{:?}", Instant::now() - start);
        assert!(api.count("put_image") > 1, "retried until then");
    }

    #[tokio::test(start_paused = true)]
    async fn a_promotion_after_the_deadline_tries_each_call_once() {
        let (api, digest) = failing_puts();
        let start = Instant::now();
        let promotion = promote(
            vec![(judged(&digest), api.clone())],
            &tags(&["staging"]),
            start - Duration::from_secs(1),
        )
        .await;
        assert!(promotion.error().is_some());
        assert_eq!((api.count("manifest"), api.count("put_image")), (1, 1));
        assert_eq!(Instant::now(), start, "no back-off slept");
    }

    #[tokio::test(start_paused = true)]
    async fn within_a_long_timeout_promotion_retries_for_its_own_minute_only() {
        let (api, digest) = failing_puts();
        let start = Instant::now();
        let promotion = promote(
            vec![(judged(&digest), api)],
            &tags(&["staging"]),
            start + Duration::from_secs(1800),
        )
        .await;
        assert!(promotion.error().is_some());
        assert!(
            Instant::now() - start <= BUDGET,
            "{:?}",
            Instant::now() - start
        );
    }
}
