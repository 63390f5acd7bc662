//! What `check --images-from` does with deployment files around the live gate: the ECR
//! references to judge (each distinct reference once), every place each came from, the images
//! ECR cannot judge, and, after a pass, the file pinned to the digests that were judged.

use serde::Serialize;

use super::reference::ImageRef;
use super::{DeployError, DeployFile, PinError};

/// One place an image is named in a deployment file, as the JSON report lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// The file as given (`<stdin>` for `-`).
    pub file: String,
    /// 1-based document number.
    pub document: usize,
    /// `Deployment`, `Pod`, `TaskDefinition`, `Compose`, …
    pub kind: String,
    /// `metadata.name`, the ECS family or the Compose project.
    pub name: Option<String>,
    /// `metadata.namespace`, when written.
    pub namespace: Option<String>,
    /// The container or Compose service.
    pub container: Option<String>,
    /// The field path of the image value.
    pub path: String,
}

impl Placement {
    /// `deploy.yaml: document 3 (Deployment web): spec.template.spec.containers[0].image`.
    pub fn describe(&self) -> String {
        let object = match &self.name {
            Some(name) => format!("{} {name}", self.kind),
            None => self.kind.clone(),
        };
        format!(
            "{}: document {} ({object}): {}",
            self.file, self.document, self.path
        )
    }
}

/// The deployment files of one run, read and checked before any AWS call.
pub struct Plan {
    files: Vec<DeployFile>,
}

impl Plan {
    /// Reads every file; a file that cannot be read, a value that is not an image reference,
    /// or files that name no image at all (an empty gate would pass) are errors.
    pub fn read(paths: &[String]) -> Result<Plan, DeployError> {
        let files = paths
            .iter()
            .map(|p| super::read_path(p))
            .collect::<Result<Vec<_>, _>>()?;
        if files.iter().all(|f| f.occurrences.is_empty()) {
            // Every file named nothing: the first one's message says what its documents are.
            if let Some(file) = files.first() {
                file.require_images()?;
            }
        }
        Ok(Plan { files })
    }

    /// Files already read, as they are (`serve` reads one object per review, and an object
    /// with no image is simply allowed).
    pub fn of(files: Vec<DeployFile>) -> Plan {
        Plan { files }
    }

    fn each(&self) -> impl Iterator<Item = (usize, usize, &ImageRef)> {
        self.files.iter().enumerate().flat_map(|(f, file)| {
            file.occurrences
                .iter()
                .enumerate()
                .map(move |(o, occurrence)| (f, o, &occurrence.reference))
        })
    }

    fn placement(&self, file: usize, occurrence: usize) -> Placement {
        let f = &self.files[file];
        let o = &f.occurrences[occurrence];
        Placement {
            file: f.label.clone(),
            document: o.document,
            kind: o.kind.clone(),
            name: o.name.clone(),
            namespace: o.namespace.clone(),
            container: o.container.clone(),
            path: o.path.clone(),
        }
    }

    /// The files as messages name them (`<stdin>` for `-`), in the order given.
    pub fn labels(&self) -> Vec<&str> {
        self.files.iter().map(|f| f.label.as_str()).collect()
    }

    /// The distinct ECR references to judge, in file order, as `image_ref::parse` reads them.
    pub fn ecr_references(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for (_, _, r) in self.each() {
            let lookup = r.lookup();
            if r.is_ecr() && !seen.contains(&lookup) {
                seen.push(lookup);
            }
        }
        seen
    }

    /// Every place an ECR reference was named.
    pub fn placements_of(&self, lookup: &str) -> Vec<Placement> {
        self.each()
            .filter(|(_, _, r)| r.is_ecr() && r.lookup() == lookup)
            .map(|(f, o, _)| self.placement(f, o))
            .collect()
    }

    /// The images ECR cannot judge (another registry), with where each is named.
    pub fn not_ecr(&self) -> Vec<(String, Placement)> {
        self.each()
            .filter(|(_, _, r)| !r.is_ecr())
            .map(|(f, o, _)| {
                (
                    self.files[f].occurrences[o].value.clone(),
                    self.placement(f, o),
                )
            })
            .collect()
    }

    /// The first file with every ECR image pinned to the digest `digest_of` gives for its
    /// reference; `None` from it leaves that value as it is.
    pub fn pinned(&self, digest_of: impl Fn(&str) -> Option<String>) -> Result<String, PinError> {
        let file = &self.files[0];
        let pins: Vec<(usize, String)> = file
            .occurrences
            .iter()
            .enumerate()
            .filter(|(_, o)| o.reference.is_ecr())
            .filter_map(|(i, o)| {
                let digest = digest_of(&o.reference.lookup())?;
                Some((i, o.reference.pinned(&digest, o.format)))
            })
            .collect();
        file.pinned(&pins)
    }
}
