//! Reading findings: one `DescribeImageScanFindings` page through [`ScanApi`], and every further
//! page with our own loop (the SDK paginator stops silently when a `nextToken` repeats; a
//! partial read must never be judged).

use std::collections::{BTreeMap, HashSet};

use super::api::{ApiError, FindingsPage, ScanApi};
use crate::findings::status::{classify, Usability};
use crate::findings::{Finding, Image, ImageError, ScanInfo};

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
    /// Every finding, from every page.
    pub findings: Vec<Finding>,
    /// ECR's `findingSeverityCounts`, to check that the read was complete.
    pub counts: BTreeMap<String, u64>,
}

/// One page. A usable status without an `imageScanFindings` object is a malformed answer.
pub async fn page<A: ScanApi>(
    api: &A,
    image: &Image,
    token: Option<&str>,
) -> Result<FindingsPage, PageError> {
    let page = api.findings_page(image, token).await.map_err(|e| {
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
    })?;
    if !page.has_findings_object && classify(&page.scan.status, None) == Usability::Usable {
        let error = ApiError::malformed_findings(image, "imageScanFindings for a usable scan")
            .into_image_error("ecr:DescribeImageScanFindings", image);
        return Err(PageError::Failed(error));
    }
    Ok(page)
}

/// Reads the pages after `first` (which the waiter already fetched) and returns them all.
pub async fn all_findings<A: ScanApi>(
    api: &A,
    image: &Image,
    first: FindingsPage,
) -> Result<AllFindings, ImageError> {
    let FindingsPage {
        scan,
        mut findings,
        counts,
        mut next_token,
        ..
    } = first;
    let mut seen = HashSet::new();
    let mut pages = 1;
    while let Some(token) = next_token.take() {
        if !seen.insert(token.clone()) || pages >= MAX_PAGES {
            return Err(ImageError::aws(format!(
                "ecr:DescribeImageScanFindings repeated a nextToken after {pages} page(s) for {image}: refusing to judge a partial read"
            )));
        }
        let page = match page(api, image, Some(&token)).await {
            Ok(page) => page,
            Err(PageError::Failed(e) | PageError::Transient(e)) => return Err(e),
            Err(PageError::ScanNotFound) => {
                return Err(ImageError::aws(format!(
                    "the scan of {image} disappeared while its findings were being read (page {})",
                    pages + 1
                )))
            }
        };
        pages += 1;
        tracing::debug!(image = %image, page = pages, findings = page.findings.len(), "findings page");
        findings.extend(page.findings);
        next_token = page.next_token;
    }
    Ok(AllFindings {
        scan,
        findings,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecr::scripted::{image, page, service, Scripted};

    async fn read(api: &Scripted) -> Result<AllFindings, ImageError> {
        let first = match super::page(api, &image(), None).await {
            Ok(first) => first,
            Err(_) => panic!("first page"),
        };
        all_findings(api, &image(), first).await
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
        assert_eq!(all.findings[5].id, "p3-0");
        let tokens: Vec<String> = api
            .calls()
            .iter()
            .map(|c| c.rsplit("token=").next().unwrap().to_string())
            .collect();
        assert_eq!(tokens, ["-", "t1", "t2"]);
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

    #[tokio::test]
    async fn a_later_page_that_fails_fails_the_read() {
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Err(service("ThrottlingException")));
        let e = read(&api).await.err().expect("refused");
        assert_eq!(e.exit_code(), 4);
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Err(service("ScanNotFoundException")));
        let e = read(&api).await.err().expect("refused");
        assert!(e.message().contains("disappeared"), "{e}");
    }

    #[tokio::test]
    async fn a_usable_answer_without_a_findings_object_is_malformed() {
        let mut bare = page("COMPLETE", "p", 0, None);
        bare.has_findings_object = false;
        let api = Scripted::new().page(Ok(bare.clone()));
        match super::page(&api, &image(), None).await {
            Err(PageError::Failed(e)) => assert!(e.message().contains("imageScanFindings"), "{e}"),
            _ => panic!("a usable scan without findings must not be read as clean"),
        }
        // While the scan is still running there is nothing to read yet: that is not malformed.
        bare.scan.status = "IN_PROGRESS".into();
        let api = Scripted::new().page(Ok(bare));
        assert!(super::page(&api, &image(), None).await.is_ok());
    }
}
