//! Reading findings: one `DescribeImageScanFindings` page through [`ScanApi`], and every further
//! page with our own loop (the SDK paginator stops silently when a `nextToken` repeats; a
//! partial read must never be judged).

use std::collections::{BTreeMap, HashSet};

use tokio::time::Instant;

use super::api::{ApiError, FindingsPage, ScanApi};
use crate::findings::status::moved;
use crate::findings::{Findings, Image, ImageError, ScanInfo};

/// A guard against a service that hands out fresh tokens forever.
const MAX_PAGES: usize = 100_000;

/// Why a page could not be read.
pub enum PageError {
    /// No scan exists (yet) for this image.
    ScanNotFound,
    /// Throttling, a server error or the network, after the SDK's own retries: the waiter may
    /// try again before its deadline.
    Transient(ImageError),
    /// Any other failure: the image cannot be judged, and waiting will not help.
    Failed(ImageError),
}

/// Every finding of a usable scan, and ECR's own counts to reconcile them with.
pub struct AllFindings {
    /// The scan the findings belong to.
    pub scan: ScanInfo,
    /// Every finding, from every page, boxed as an image holds them.
    pub findings: Findings,
    /// ECR's `findingSeverityCounts`, to check that the read was complete.
    pub counts: BTreeMap<String, u64>,
}

/// One page, asked for once, never past `deadline`.
pub async fn page<A: ScanApi>(
    api: &A,
    image: &Image,
    token: Option<&str>,
    deadline: Instant,
) -> Result<FindingsPage, PageError> {
    let answer = super::retry::before(deadline, api.findings_page(image, token)).await;
    answer.map_err(|e| page_error_of(e, image))
}

/// One page, with transient faults (throttling, 5xx, network) tried again until `deadline`.
pub async fn page_retrying<A: ScanApi>(
    api: &A,
    image: &Image,
    token: Option<&str>,
    deadline: Instant,
) -> Result<FindingsPage, PageError> {
    super::retry::call(deadline, "DescribeImageScanFindings", || {
        api.findings_page(image, token)
    })
    .await
    .map_err(|e| page_error_of(e, image))
}

fn page_error_of(e: ApiError, image: &Image) -> PageError {
    if e.code() == Some("ScanNotFoundException") {
        return PageError::ScanNotFound;
    }
    let transient = e.is_transient();
    let error = e.into_image_error("ecr:DescribeImageScanFindings", image);
    if transient {
        PageError::Transient(error)
    } else {
        PageError::Failed(error)
    }
}

/// The scan moved under a read: a later page reported another status, or other counts.
pub struct Moved {
    /// What the later page said, e.g. `ACTIVE`, or `other counts`.
    pub to: String,
    /// Which page said it.
    pub page: usize,
}

/// Reads the pages after `first` (which the waiter already fetched) and returns them all, or
/// [`Moved`] when a page's status or counts differ from the first page's: the caller waits for
/// a usable, settled scan again. A partial read is never returned.
pub async fn all_findings<A: ScanApi>(
    api: &A,
    image: &Image,
    first: FindingsPage,
    deadline: Instant,
) -> Result<Result<AllFindings, Moved>, ImageError> {
    let FindingsPage {
        scan,
        findings: first_findings,
        counts,
        mut next_token,
        ..
    } = first;
    let mut findings: Findings = first_findings.into_iter().map(Box::new).collect();
    let mut seen = HashSet::new();
    let mut pages = 1;
    while let Some(token) = next_token.take() {
        if pages >= MAX_PAGES {
            return Err(ImageError::aws(format!(
                "ecr:DescribeImageScanFindings handed out {pages} pages for {image} and still more: refusing to judge a partial read"
            )));
        }
        if !seen.insert(token.clone()) {
            return Err(ImageError::aws(format!(
                "ecr:DescribeImageScanFindings repeated a nextToken after {pages} page(s) for {image}: refusing to judge a partial read"
            )));
        }
        let page = page_retrying(api, image, Some(&token), deadline)
            .await
            .map_err(|e| page_error(e, image, pages + 1))?;
        pages += 1;
        if let Some(to) = moved(&scan.status, &page.scan.status) {
            return Ok(Err(Moved {
                to: to.to_string(),
                page: pages,
            }));
        }
        if !page.counts.is_empty() && page.counts != counts {
            return Ok(Err(Moved {
                to: "other findingSeverityCounts".to_string(),
                page: pages,
            }));
        }
        tracing::debug!(image = %image, page = pages, findings = page.findings.len(), "findings page");
        findings.extend(page.findings.into_iter().map(Box::new));
        next_token = page.next_token;
    }
    Ok(Ok(AllFindings {
        scan,
        findings,
        counts,
    }))
}

fn page_error(e: PageError, image: &Image, page: usize) -> ImageError {
    match e {
        PageError::Failed(e) | PageError::Transient(e) => e,
        PageError::ScanNotFound => ImageError::aws(format!(
            "the scan of {image} disappeared while its findings were being read (page {page})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ecr::scripted::{image, page, service, Scripted};

    async fn read(api: &Scripted) -> Result<AllFindings, ImageError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let first = match super::page(api, &image(), None, deadline).await {
            Ok(first) => first,
            Err(_) => panic!("first page"),
        };
        match all_findings(api, &image(), first, deadline).await? {
            Ok(all) => Ok(all),
            Err(moved) => Err(ImageError::aws(format!(
                "moved to {} on page {}",
                moved.to, moved.page
            ))),
        }
    }

    #[tokio::test]
    async fn every_page_is_read_in_token_order() {
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 3, Some("t1"))))
            .page(Ok(page("COMPLETE", "p2", 2, Some("t2"))))
            .page(Ok(page("COMPLETE", "p3", 1, None)));
        let Ok(all) = read(&api).await else {
            panic!("read")
        };
        assert_eq!(all.findings.len(), 6);
        assert_eq!(all.findings[5].id(), "p3-0");
        let tokens: Vec<String> = api
            .calls()
            .iter()
            .map(|c| c.rsplit("token=").next().unwrap().to_string())
            .collect();
        assert_eq!(tokens, ["-", "t1", "t2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_status_or_count_change_mid_read_is_reported_never_a_partial_read() {
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Ok(page("ACTIVE", "p2", 1, None)));
        let e = read(&api).await.err().expect("moved");
        assert!(e.message().contains("ACTIVE on page 2"), "{e}");
        let mut grown = page("COMPLETE", "p2", 1, None);
        grown.counts.insert("CRITICAL".into(), 1);
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Ok(grown));
        let e = read(&api).await.err().expect("moved");
        assert!(e.message().contains("other findingSeverityCounts"), "{e}");
    }

    #[tokio::test]
    async fn a_repeating_token_is_an_aws_error_never_a_partial_read() {
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Ok(page("COMPLETE", "p2", 1, Some("t1"))));
        let e = read(&api).await.err().expect("refused");
        assert_eq!(e.exit_code(), 4);
        assert!(e.message().contains("repeated a nextToken"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_page_is_retried_within_the_deadline_then_fails_the_read() {
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Err(service("ThrottlingException")))
            .page(Err(service("ServerException")))
            .page(Ok(page("COMPLETE", "p2", 1, None)));
        let Ok(all) = read(&api).await else {
            panic!("transient faults on page 2 are ridden out")
        };
        assert_eq!(all.findings.len(), 2);

        let start = Instant::now();
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Err(service("ThrottlingException")));
        let e = read(&api).await.err().expect("refused");
        assert_eq!(e.exit_code(), 4);
        assert!(e.message().contains("ThrottlingException"), "{e}");
        let waited = start.elapsed();
        assert!(
            waited > Duration::from_secs(30) && waited <= Duration::from_secs(61),
            "{waited:?}"
        );
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Err(service("AccessDeniedException")));
        assert_eq!(api.count("findings_page"), 0);
        let e = read(&api).await.err().expect("refused");
        assert_eq!(
            (e.exit_code(), api.count("findings_page")),
            (4, 2),
            "not retried"
        );
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Err(service("ScanNotFoundException")));
        let e = read(&api).await.err().expect("refused");
        assert!(e.message().contains("disappeared"), "{e}");
    }
}
