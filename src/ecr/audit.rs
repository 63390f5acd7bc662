//! `audit`: what a whole registry holds. Every page of DescribeRepositories, then every page of
//! DescribeImages (tagged images) of each repository kept by the `--repository` globs, and per
//! repository the newest `--latest` images with a tag kept by the `--tag` globs. The images
//! chosen are then judged by the same gate as `check`, by digest.

use std::collections::HashSet;
use std::future::Future;

use globset::{Glob, GlobSet, GlobSetBuilder};
use tokio::time::Instant;

use super::api::{ApiError, Listing, ScanApi};
use super::retry;
use crate::findings::{Image, ImageError};

/// Which images of the registry to judge.
#[derive(Debug)]
pub struct Selection {
    repositories: Option<GlobSet>,
    tags: Option<GlobSet>,
    /// Only images pushed at or after this time (epoch seconds).
    pub pushed_since: Option<i64>,
    /// The newest N per repository.
    pub latest: usize,
}

impl Selection {
    /// `*` matches any characters, `/` included, as in the policy file's `repository`.
    pub fn new(
        repositories: &[String],
        tags: &[String],
        pushed_since: Option<i64>,
        latest: usize,
    ) -> Result<Selection, String> {
        let set = |globs: &[String], flag: &str| -> Result<Option<GlobSet>, String> {
            if globs.is_empty() {
                return Ok(None);
            }
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                builder.add(
                    Glob::new(glob).map_err(|e| format!("{flag} `{glob}` is not a glob: {e}"))?,
                );
            }
            builder.build().map(Some).map_err(|e| e.to_string())
        };
        Ok(Selection {
            repositories: set(repositories, "--repository")?,
            tags: set(tags, "--tag")?,
            pushed_since,
            latest,
        })
    }

    fn keeps_repository(&self, name: &str) -> bool {
        self.repositories.as_ref().is_none_or(|g| g.is_match(name))
    }
}

/// An image chosen for judging: its repository, the newest tag the globs keep, its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// The repository.
    pub repository: String,
    /// A tag of the image the `--tag` globs keep, for people.
    pub tag: String,
    /// What is judged.
    pub digest: String,
}

impl Chosen {
    /// `repo:tag@sha256:…`, as `image_ref::parse` reads it: looked up by the digest.
    pub fn reference(&self) -> String {
        format!("{}:{}@{}", self.repository, self.tag, self.digest)
    }
}

/// Every page of a listing, each page retried on faults until `deadline`; a repeating token is
/// an AWS error, never a silently short listing.
async fn every_page<T, Fut>(
    deadline: Instant,
    what: &str,
    mut page: impl FnMut(Option<String>) -> Fut,
) -> Result<Vec<T>, ApiError>
where
    Fut: Future<Output = Result<Listing<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut token: Option<String> = None;
    loop {
        let listing = retry::call(deadline, what, || page(token.clone())).await?;
        items.extend(listing.items);
        match listing.next_token {
            Some(next) if !seen.insert(next.clone()) => {
                return Err(ApiError::BadAnswer(format!(
                    "ecr:{what} repeated a nextToken: refusing to audit a partial listing"
                )))
            }
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}

/// The images of the registry to judge, repository by repository in name order.
pub async fn select<A: ScanApi>(
    api: &A,
    registry_id: Option<&str>,
    selection: &Selection,
    deadline: Instant,
) -> Result<Vec<Chosen>, ImageError> {
    let registry = Image {
        repository: "*".to_string(),
        registry_id: registry_id.map(str::to_string),
        region: Some(api.region().to_string()),
        ..Default::default()
    };
    let mut repositories = every_page(deadline, "DescribeRepositories", |token| async move {
        api.repositories(registry_id, token.as_deref()).await
    })
    .await
    .map_err(|e| e.into_image_error("ecr:DescribeRepositories", &registry))?;
    repositories.retain(|r| selection.keeps_repository(r));
    repositories.sort();
    repositories.dedup();
    tracing::debug!(repositories = repositories.len(), "repositories to audit");
    let mut chosen = Vec::new();
    for repository in repositories {
        let mut images = every_page(deadline, "DescribeImages", |token| {
            let repository = repository.clone();
            async move {
                api.tagged_images(registry_id, &repository, token.as_deref())
                    .await
            }
        })
        .await
        .map_err(|e| {
            let image = Image {
                repository: repository.clone(),
                ..registry.clone()
            };
            e.into_image_error("ecr:DescribeImages", &image)
        })?;
        images.retain(|i| {
            selection
                .pushed_since
                .is_none_or(|since| i.pushed_at.is_some_and(|p| p >= since))
        });
        // Newest first; an image without a push time last.
        images.sort_by_key(|i| std::cmp::Reverse(i.pushed_at));
        let kept = images.into_iter().filter_map(|i| {
            let mut tags: Vec<&String> = i
                .tags
                .iter()
                .filter(|t| {
                    selection
                        .tags
                        .as_ref()
                        .is_none_or(|g| g.is_match(t.as_str()))
                })
                .collect();
            tags.sort();
            let tag = tags.first()?.to_string();
            Some(Chosen {
                repository: repository.clone(),
                tag,
                digest: i.digest,
            })
        });
        chosen.extend(kept.take(selection.latest));
    }
    Ok(chosen)
}
