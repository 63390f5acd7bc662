//! Images named in deployment files — Kubernetes manifests (Helm's rendered output and
//! `kubectl get -o json|yaml` lists included), Amazon ECS task definitions, Docker Compose files
//! — each with the exact bytes of its value, and the same file written back with chosen values
//! replaced and every other byte kept.
//!
//! A pure reader and rewriter: it knows neither AWS nor the policy. [`read`] keeps a file that
//! names no image as `Ok` with no occurrences, since whether that is an error depends on the
//! other files of the run; [`DeployFile::require_images`] is that error.

mod extract;
pub mod plan;
pub mod reference;
mod yaml;

use std::borrow::Cow;
use std::io::{self, Read};
use std::ops::Range;

use yaml::Style;

/// The kind of file an image came from; it decides the pinned form (see
/// [`reference::ImageRef::pinned`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A Kubernetes object (any kind with a pod spec), also inside a `List`.
    Kubernetes,
    /// An Amazon ECS task definition, bare or in `describe-task-definition`'s wrapper.
    Ecs,
    /// A Docker Compose file.
    Compose,
}

/// One image value in a file: where it is, for people and for the rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// 1-based document number in the file, counted as the `---` separators count them.
    pub document: usize,
    /// `Deployment`, `Pod`, `CronJob`, … (a `List` item's own kind), `TaskDefinition` or
    /// `Compose`.
    pub kind: String,
    /// `metadata.name` (or `generateName`), the ECS `family`, or Compose's project `name`.
    pub name: Option<String>,
    /// `metadata.namespace`: in a `kubectl get -A` inventory, names repeat across namespaces.
    pub namespace: Option<String>,
    /// The container's `name`, or the Compose service name.
    pub container: Option<String>,
    /// The field path, `spec.template.spec.initContainers[0].image`,
    /// `items[3].spec.containers[0].image`, `services.web.image`.
    pub path: String,
    /// The image value with YAML quoting and JSON escapes resolved.
    pub value: String,
    /// The value read as a reference: ECR or not, name, tag, digest.
    pub reference: reference::ImageRef,
    /// The bytes of the value's text in [`DeployFile::text`]: inside the quotes, after any
    /// anchor or tag, escapes as written. An image written once behind an anchor and used by
    /// `*alias` in several places has the anchor's span in each of its occurrences.
    pub span: Range<usize>,
    /// Which kind of file this image is in.
    pub format: Format,
    style: Style,
}

/// A deployment file as read: its text, kept as given, and the images found in it.
#[derive(Clone, Debug)]
pub struct DeployFile {
    /// The path as given, or `<stdin>`.
    pub label: String,
    /// The input, byte for byte.
    pub text: String,
    /// Every image value, in document order.
    pub occurrences: Vec<Occurrence>,
    /// What each document is (`ConfigMap app`, `empty`), for the no-image message.
    documents: Vec<String>,
}

/// A deployment file that cannot be read as one: always found before any AWS call.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The path as given, or `<stdin>`.
        file: String,
        /// Why reading failed.
        source: io::Error,
    },
    /// The bytes are not UTF-8, so neither YAML nor JSON.
    #[error("{file}: not UTF-8 text (at byte {offset})")]
    NotText {
        /// The path as given, or `<stdin>`.
        file: String,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// Not YAML (or, for a file that starts like JSON, not JSON).
    #[error("{file}:{line}:{column}: invalid {syntax}: {message}")]
    Syntax {
        /// The path as given, or `<stdin>`.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// `YAML` or `JSON`, from how the file starts.
        syntax: &'static str,
        /// The parser's message.
        message: String,
    },
    /// An image field (or the structure that holds it) that cannot be judged or pinned.
    #[error("{file}: document {document}{}: {path}: {message}", about(.object))]
    Value {
        /// The path as given, or `<stdin>`.
        file: String,
        /// 1-based document number.
        document: usize,
        /// The object's kind and name (`Deployment web`), as far as known.
        object: Option<String>,
        /// The field path, as in [`Occurrence::path`].
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The file names no image at all: judging it would pass on nothing.
    #[error("no image found in {file}: {why}")]
    NoImages {
        /// The path as given, or `<stdin>`.
        file: String,
        /// What the file holds instead.
        why: String,
    },
}

/// A pin that cannot be written: a mistake of the caller, reported rather than written.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The index is not one of [`DeployFile::occurrences`].
    #[error("{file}: there is no image number {index} to pin")]
    NoSuchOccurrence {
        /// The path as given, or `<stdin>`.
        file: String,
        /// The index given.
        index: usize,
    },
    /// The new value is not a plain reference that can stand in the old one's place.
    #[error("{file}: document {document}: {path}: cannot write `{value}` in place: {why}")]
    Unsafe {
        /// The path as given, or `<stdin>`.
        file: String,
        /// 1-based document number.
        document: usize,
        /// The field path.
        path: String,
        /// The value given.
        value: String,
        /// Why it cannot be written.
        why: String,
    },
    /// Two pins for the same text (an anchored image used twice) disagree.
    #[error("{file}: document {document}: {path}: pinned to both `{first}` and `{second}`")]
    Conflict {
        /// The path as given, or `<stdin>`.
        file: String,
        /// 1-based document number.
        document: usize,
        /// The field path of the second pin.
        path: String,
        /// One value.
        first: String,
        /// The other.
        second: String,
    },
}

fn about(object: &Option<String>) -> String {
    object
        .as_ref()
        .map(|object| format!(" ({object})"))
        .unwrap_or_default()
}

/// Reads every document of `text` (YAML, several documents or one; JSON, told apart by its
/// first character). `label` names the file in messages. A file without images is `Ok`: see
/// [`DeployFile::require_images`].
pub fn read(label: &str, text: String) -> Result<DeployFile, DeployError> {
    let json = looks_like_json(&text);
    let parsed = match json {
        true => mask_surrogates(&text),
        false => Cow::Borrowed(text.as_str()),
    };
    let documents = yaml::parse(&parsed).map_err(|e| DeployError::Syntax {
        file: label.to_string(),
        line: e.line,
        column: e.column,
        syntax: if json { "JSON" } else { "YAML" },
        message: e.message,
    })?;
    let mut occurrences = Vec::new();
    let mut contents = Vec::new();
    for (at, root) in documents.iter().enumerate() {
        contents.push(extract::document(label, at + 1, root, &mut occurrences)?);
    }
    drop(parsed);
    Ok(DeployFile {
        label: label.to_string(),
        text,
        occurrences,
        documents: contents,
    })
}

/// [`read`] from a path, or from standard input for `-` (named `<stdin>` in messages).
pub fn read_path(path: &str) -> Result<DeployFile, DeployError> {
    let label = if path == "-" { "<stdin>" } else { path };
    let io_error = |source| DeployError::Io {
        file: label.to_string(),
        source,
    };
    let bytes = if path == "-" {
        let mut bytes = Vec::new();
        io::stdin().read_to_end(&mut bytes).map_err(io_error)?;
        bytes
    } else {
        std::fs::read(path).map_err(io_error)?
    };
    let text = String::from_utf8(bytes).map_err(|e| DeployError::NotText {
        file: label.to_string(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    read(label, text)
}

impl DeployFile {
    /// The error for a file that names no image, saying what its documents are instead.
    pub fn require_images(&self) -> Result<(), DeployError> {
        if !self.occurrences.is_empty() {
            return Ok(());
        }
        const SHOWN: usize = 6;
        let why = match self.documents.len() {
            0 => "it holds no YAML or JSON document".to_string(),
            n => {
                let mut listed = self.documents[..n.min(SHOWN)].join(", ");
                if n > SHOWN {
                    listed.push_str(&format!(" and {} more", n - SHOWN));
                }
                format!(
                    "its {} ({listed}) {} no Kubernetes pod spec, ECS container definition or \
                     Compose service image",
                    if n == 1 { "document" } else { "documents" },
                    if n == 1 { "has" } else { "have" },
                )
            }
        };
        Err(DeployError::NoImages {
            file: self.label.clone(),
            why,
        })
    }

    /// The text with each pinned occurrence's value replaced by its new value and every other
    /// byte as it was. `pins` are `(index into occurrences, new value)`; a new value must be a
    /// reference made only of characters that need no quoting or escaping, so it stands in any
    /// of the value's quoting styles (and in JSON) unchanged.
    pub fn pinned(&self, pins: &[(usize, String)]) -> Result<String, PinError> {
        let mut edits: Vec<(&Occurrence, &str)> = Vec::with_capacity(pins.len());
        for (index, value) in pins {
            let occurrence = self
                .occurrences
                .get(*index)
                .ok_or(PinError::NoSuchOccurrence {
                    file: self.label.clone(),
                    index: *index,
                })?;
            if let Err(why) = check_pin(value, occurrence.style) {
                return Err(PinError::Unsafe {
                    file: self.label.clone(),
                    document: occurrence.document,
                    path: occurrence.path.clone(),
                    value: value.clone(),
                    why,
                });
            }
            edits.push((occurrence, value));
        }
        edits.sort_by_key(|(occurrence, _)| occurrence.span.start);
        edits.dedup_by(|later, earlier| later.0.span == earlier.0.span && later.1 == earlier.1);
        if let Some(pair) = edits.windows(2).find(|w| w[0].0.span == w[1].0.span) {
            return Err(PinError::Conflict {
                file: self.label.clone(),
                document: pair[1].0.document,
                path: pair[1].0.path.clone(),
                first: pair[0].1.to_string(),
                second: pair[1].1.to_string(),
            });
        }
        let mut out = String::with_capacity(self.text.len() + 80 * edits.len());
        let mut copied = 0;
        for (occurrence, value) in edits {
            out.push_str(&self.text[copied..occurrence.span.start]);
            out.push_str(value);
            copied = occurrence.span.end;
        }
        out.push_str(&self.text[copied..]);
        Ok(out)
    }
}

/// A pinned value never needs quoting: docker references other than bracketed IPv6 hosts use
/// only these characters, none of which is special inside quotes, in JSON, or in plain YAML
/// away from the start (and a reference starts with a letter or digit).
fn check_pin(value: &str, style: Style) -> Result<(), String> {
    reference::parse(value)?;
    let safe =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@');
    if !value.chars().all(safe) {
        return Err("only letters, digits and . _ - / : @ can be written without quoting".into());
    }
    if style == Style::Plain && yaml::plain_type(value).is_some() {
        return Err("unquoted, YAML would read it as something other than a string".into());
    }
    Ok(())
}

/// JSON starts with `{` or `[`; YAML rarely does, and when it does (a flow mapping) calling a
/// mistake "invalid JSON" still points at the right line.
fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .starts_with(['{', '['])
}

/// JSON writes a character beyond the BMP as two `\uD8xx\uDCxx` escapes, which YAML refuses.
/// Each becomes `\uFFFD`, of the same length, so every span stays in place; such text is in a
/// name or an annotation, never in a valid image reference.
fn mask_surrogates(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut masked: Option<Vec<u8>> = None;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'\\' {
            at += 1;
            continue;
        }
        let escape = bytes.get(at + 1..at + 6);
        let surrogate = escape.is_some_and(|e| {
            e[0] == b'u'
                && std::str::from_utf8(&e[1..])
                    .ok()
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok())
                    .is_some_and(|code| (0xD800..=0xDFFF).contains(&code))
        });
        if surrogate {
            let out = masked.get_or_insert_with(|| bytes.to_vec());
            out[at + 2..at + 6].copy_from_slice(b"FFFD");
            at += 6;
        } else {
            // In JSON a backslash only ever starts an escape: `\\` is one, so is `\u0041`.
            at += 2;
        }
    }
    match masked {
        Some(out) => Cow::Owned(String::from_utf8(out).expect("only ASCII hex was replaced")),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests;
