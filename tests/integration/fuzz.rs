//! Property-based fuzzing on stable Rust (issue 19): every reader is fed generated and damaged
//! input, starting from the shipped fixtures. The properties:
//!
//! - no reader panics, whatever the bytes;
//! - bad input is an error that names the file it came from (exit 2 through the binary);
//! - a saved scan that lost findings ECR's `findingSeverityCounts` say exist never passes;
//! - every report of any accepted input stays valid: SARIF, GitLab and JSON parse, JUnit is
//!   well-formed XML, and no report holds a raw ESC or a line a CI runner would read as a
//!   workflow command (`::…`); console and Markdown hold no control or bidi character either.
//!
//! Library properties call the readers directly, with many cases; a few end-to-end properties
//! run the real binary with fewer. `FUZZ_CASES` sets the case count of each library property
//! (default [`DEFAULT_CASES`], sized for CI; release checks run `FUZZ_CASES=5000`), the
//! end-to-end ones run a tenth of it.
//!
//! Seeds: `PROPTEST_RNG_SEED` replays a run; under CI (`CI=true`, `1` or `yes`) the seed is
//! fixed, so a submission's verdict never depends on the draw; elsewhere each run draws a new
//! one and explores new cases. A failure always names its seed and the command that replays it.
//! Failures are not persisted to `proptest-regressions/` files: a bug found here gets a named
//! regression test next to the code it fixes, which says what it pins.

use std::fmt::Debug;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use ecr_scan_gate::deploy;
use ecr_scan_gate::evaluation::Evaluation;
use ecr_scan_gate::exit::Outcome;
use ecr_scan_gate::findings::saved;
use ecr_scan_gate::findings::ScannedImage;
use ecr_scan_gate::image_ref;
use ecr_scan_gate::policy::baseline::Baseline;
use ecr_scan_gate::policy::epss::Epss;
use ecr_scan_gate::policy::file::{self, ConfigError};
use ecr_scan_gate::policy::kev::Kev;
use ecr_scan_gate::policy::{Overrides, Policy};
use ecr_scan_gate::report::{self, Format, Output};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::Value;

use crate::util::{bin, root};

/// Cases per library property when `FUZZ_CASES` is not set: the whole module stays well under
/// a minute in a debug build on a 2-core machine.
const DEFAULT_CASES: u32 = 256;

/// The seed under CI, where a run must be repeatable (the issue number).
const CI_SEED: u64 = 19;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_CASES)
}

/// One seed per run of the test binary, shared by every property.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        if let Some(seed) = std::env::var("PROPTEST_RNG_SEED")
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            return seed;
        }
        let ci = std::env::var("CI")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
        if ci {
            return CI_SEED;
        }
        // No rand dependency for one number: the std hasher is randomly keyed per process.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    })
}

/// Runs `test` on `cases` values of `strategy`; a failure (or a panic) is shrunk to a small
/// input and reported with the seed that replays it.
fn property<S>(
    name: &str,
    count: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let seed = seed();
    let config = Config {
        cases: count.max(1),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        // Shrinking the end-to-end properties runs the binary each step: bounded.
        max_shrink_iters: 1024,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(error) = runner.run(&strategy, test) {
        // libtest names the thread after the test, which is what the filter needs.
        let test = std::thread::current().name().unwrap_or("fuzz").to_string();
        panic!(
            "fuzz property `{name}` failed: {error}\n\
             replay: PROPTEST_RNG_SEED={seed} FUZZ_CASES={} cargo test --test integration {test}",
            cases()
        );
    }
}

/// How often each kind of case came up in one property: a property whose interesting branch
/// never runs would pass while testing nothing.
#[derive(Default)]
struct Tally(std::sync::Mutex<std::collections::BTreeMap<&'static str, u32>>);

impl Tally {
    fn count(&self, what: &'static str) {
        *self.0.lock().unwrap().entry(what).or_default() += 1;
    }

    /// Each of `kinds` came up in at least one case in 100 (checked from 100 cases on): far below
    /// their usual share (the rarest is about one in 20), so a new seed never trips it by chance.
    fn each_at_least_one_in_100(&self, name: &str, total: u32, kinds: &[&str]) {
        let counts = self.0.lock().unwrap();
        eprintln!("fuzz property `{name}`: {counts:?} of {total}");
        if total < 100 {
            return;
        }
        for kind in kinds {
            let n = counts.get(kind).copied().unwrap_or(0);
            assert!(
                n >= total / 100,
                "fuzz property `{name}` ran `{kind}` only {n} times in {total} cases: {counts:?}"
            );
        }
    }
}

fn fixture_bytes(relative: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures").join(relative)).expect("fixture")
}

fn fixture_json(relative: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(relative)).expect("fixture JSON")
}

// ---------------------------------------------------------------------------------------
// Hostile text and damage
// ---------------------------------------------------------------------------------------

/// Pieces of text that have broken terminals, CI logs, XML, Markdown and parsers before.
const HOSTILE: &[&str] = &[
    "\u{1b}[31m",
    "\u{1b}]8;;https://evil.example\u{7}link\u{1b}]8;;\u{7}",
    "\u{1b}[2J\u{1b}[H",
    "\u{9b}31m",
    "\n::error::pwned",
    "::set-output name=x::y",
    "::add-mask::secret",
    "\r\n::warning file=a,line=1::b",
    "::",
    ":",
    "##[error]x",
    "##vso[task.setvariable variable=x]y",
    "\u{0}",
    "\u{8}",
    "\u{7}",
    "\u{7f}",
    "\u{85}",
    "\t",
    "\r",
    "\n",
    "é",
    "👩‍💻",
    "\u{202E}gnp.exe",
    "\u{2066}",
    "\u{2069}",
    "\u{200F}",
    "\u{2028}",
    "\u{feff}",
    "\u{fffe}",
    "\u{ffff}",
    "\u{10ffff}",
    "<script>alert(1)</script>",
    "]]>",
    "&amp;",
    "&#27;",
    "\"",
    "'",
    "\\",
    "|",
    "`",
    "*_~",
    "[x](javascript:alert(1))",
    "@here",
    "${VAR}",
    "{{ .Values.image }}",
    "xé1234",
    "-1",
    "1e309",
    "18446744073709551616",
    "NaN",
    " ",
    "",
    "CVE-2026-21387",
    "HIGH",
    "sha256:",
];

fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => select(HOSTILE).prop_map(str::to_string),
        2 => "[a-zA-Z0-9._/-]{0,12}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

/// Raw JSON/TOML/YAML/CSV tokens spliced in as bytes: numbers out of every range, structure
/// characters, deep nesting, keys that repeat.
const RAW_TOKENS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "0.000000000000000000000000000000000000000001",
    "-0",
    "NaN",
    "Infinity",
    "null",
    "true",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\\udc00\\ud800",
    "\\u001b[31m",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"\":",
    "\"findings\": [],",
    "\"severity\": \"HIGH\",",
    "\"findingSeverityCounts\": {\"CRITICAL\": 18446744073709551615},",
    "\n---\n",
    "\n...\n",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "? ",
    "- ",
    "\t",
    "#",
    "\r\n",
    "[[allow]]\n",
    "[max]\n",
    "fail-on = ",
    "\"\"\"",
    "'''",
    "cve,epss,percentile\n",
    "#model_version:x,score_date:xé1234\n",
    ",,,\n",
];

/// One change to the bytes of a file.
#[derive(Clone, Debug)]
enum ByteEdit {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Splice(Index, String),
    /// A copy of a range right after it: keys, elements and lines that repeat.
    Repeat(Index, usize),
    /// `depth` openers: arrays, objects or flow sequences nested deeper than any parser allows.
    Nest(Index, &'static str, usize),
    /// YAML anchors each merging the one before: 300 of them (deeper than nesting may go), or
    /// 30 each merging the one before twice (2^30 paths for a lookup that walks every one).
    Anchors(Index, bool),
    /// A YAML document of `depth` nested block sequences (`- - - … x`): no flow limit applies.
    DeepDocument(Index, usize),
}

fn anchor_chain(twice: bool) -> String {
    let (n, merge) = if twice {
        (30, "[*a{p}, *a{p}]")
    } else {
        (300, "*a{p}")
    };
    let mut text = String::from("\nx0: &a0 {k: v}\n");
    for i in 1..n {
        let merge = merge.replace("{p}", &(i - 1).to_string());
        text.push_str(&format!("x{i}: &a{i} {{<<: {merge}}}\n"));
    }
    text.push_str(&format!("<<: *a{}\n", n - 1));
    text
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let interesting = prop_oneof![
        select(&[0x00u8, 0x1b, 0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff, b'"', b'\\', b'\n', b'#'][..]),
        any::<u8>(),
    ];
    prop_oneof![
        2 => any::<Index>().prop_map(ByteEdit::Truncate),
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, bit)| ByteEdit::Flip(i, bit)),
        2 => (any::<Index>(), prop::collection::vec(interesting, 1..4))
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        2 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        3 => (
            any::<Index>(),
            prop_oneof![select(RAW_TOKENS).prop_map(str::to_string), hostile()]
        )
            .prop_map(|(i, s)| ByteEdit::Splice(i, s)),
        1 => (any::<Index>(), 1usize..200).prop_map(|(i, n)| ByteEdit::Repeat(i, n)),
        1 => (
            any::<Index>(),
            select(&["[", "{\"a\":", "- ", "[{", "a:\n "][..]),
            prop_oneof![100usize..3000, Just(100_000)]
        )
            .prop_map(|(i, s, n)| ByteEdit::Nest(i, s, n)),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(i, twice)| ByteEdit::Anchors(i, twice)),
        1 => (any::<Index>(), select(&[300usize, 100_000][..]))
            .prop_map(|(i, n)| ByteEdit::DeepDocument(i, n)),
    ]
}

fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    prop::collection::vec(byte_edit(), 1..4)
}

fn at(index: &Index, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        index.index(len + 1)
    }
}

fn damage(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for edit in edits {
        let len = bytes.len();
        match edit {
            ByteEdit::Truncate(i) => bytes.truncate(at(i, len)),
            ByteEdit::Flip(i, bit) if len > 0 => bytes[i.index(len)] ^= 1 << bit,
            ByteEdit::Flip(..) => {}
            ByteEdit::Insert(i, b) => {
                let p = at(i, len);
                bytes.splice(p..p, b.iter().copied());
            }
            ByteEdit::Delete(i, n) => {
                let p = at(i, len);
                bytes.drain(p..(p + n).min(len));
            }
            ByteEdit::Splice(i, s) => {
                let p = at(i, len);
                bytes.splice(p..p, s.bytes());
            }
            ByteEdit::Repeat(i, n) => {
                let p = at(i, len);
                let copy = bytes[p..(p + n).min(len)].to_vec();
                let end = p + copy.len();
                bytes.splice(end..end, copy);
            }
            ByteEdit::Nest(i, opener, depth) => {
                let p = at(i, len);
                bytes.splice(p..p, opener.repeat(*depth).into_bytes());
            }
            ByteEdit::Anchors(i, twice) => {
                let p = at(i, len);
                bytes.splice(p..p, anchor_chain(*twice).into_bytes());
            }
            ByteEdit::DeepDocument(i, depth) => {
                let p = at(i, len);
                let document = format!("\n---\n{}x\n---\n", "- ".repeat(*depth));
                bytes.splice(p..p, document.into_bytes());
            }
        }
    }
}

/// Damage that keeps text: the result is valid UTF-8 (invalid sequences become U+FFFD), for
/// readers that take `&str`.
fn damage_text(text: &str, edits: &[ByteEdit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    damage(&mut bytes, edits);
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// Structure-aware damage of JSON documents
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    At(usize),
}

/// Every node of `value` in document order, the root first, as the steps that reach it.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(path.clone());
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::At(i));
                    walk(item, path, out);
                    path.pop();
                }
            }
            Value::Object(members) => {
                for (k, v) in members {
                    path.push(Step::Key(k.clone()));
                    walk(v, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn node<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::At(i) => v.get(*i),
    })
}

fn node_mut<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::At(i) => &mut v[*i],
    })
}

/// Keys whose values the readers interpret, so edits aimed at them reach the interesting code.
const KEYS: &[&str] = &[
    "severity",
    "status",
    "name",
    "description",
    "uri",
    "title",
    "repositoryName",
    "imageTag",
    "imageDigest",
    "registryId",
    "imageScanCompletedAt",
    "vulnerabilitySourceUpdatedAt",
    "findings",
    "enhancedFindings",
    "imageScanFindings",
    "findingSeverityCounts",
    "nextToken",
    "fixAvailable",
    "exploitAvailable",
    "score",
    "baseScore",
    "epoch",
    "fixedInVersion",
    "vulnerabilityId",
    "relatedVulnerabilities",
    "sourceUrl",
    "value",
    "key",
    "timestamp",
    "last_updated",
    "@context",
    "@id",
    "purl",
    "justification",
    "impact_statement",
    "cveID",
    "dateAdded",
    "dateReleased",
    "knownRansomwareCampaignUse",
    "version",
    "repository",
    "id",
    "error",
    "packages",
    "image",
    "containers",
];

const SEVERITY_LABELS: &[&str] = &[
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNDEFINED",
    "UNTRIAGED",
    "high",
    "Critical",
    "SEVERE",
    "",
    " HIGH ",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        select(
            &[
                0.0f64,
                -1.0,
                0.5,
                1.0,
                1e300,
                -1e300,
                1763658871.5,
                253402300800.0
            ][..]
        )
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        hostile().prop_map(Value::String),
        select(SEVERITY_LABELS).prop_map(Value::from),
        select(
            &[
                "COMPLETE",
                "ACTIVE",
                "FAILED",
                "IN_PROGRESS",
                "SUPPRESSED",
                "CLOSED",
                "YES",
                "NO",
                "PARTIAL",
                "NotAvailable",
                "2026-11-20T09:14:31.512000+00:00",
                "2026-11-20T09:14:31+1100",
                "9999-12-31T23:59:59Z",
                "0000-01-01T00:00:00Z",
                "2026-02-30",
                "2026-12-01",
                "sha256:7297dd6b14e179f31c535ca0e55e22506ba9fe59a165ad147af2017908514eaa",
                "https://openvex.dev/ns/v0.2.0",
                "https://openvex.dev/ns/v0.0.1",
                "not_affected",
                "fixed",
                "affected",
                "under_investigation",
                "pkg:oci/api?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/app/api",
                "ecr-scan-gate",
            ][..]
        )
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![select(KEYS).prop_map(str::to_string), hostile()],
                    inner
                ),
                0..4
            )
            .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// One structural change to a JSON document.
#[derive(Clone, Debug)]
enum Edit {
    /// Any node becomes another value (often of another type).
    Replace(Index, Value),
    /// The value of a member with this key (one of them, chosen by the index) becomes another.
    Keyed(&'static str, Index, Value),
    /// An array loses an element.
    DropElement(Index, Index),
    /// An object loses a member.
    RemoveKey(Index, Index),
    /// A severity becomes another label.
    Severity(Index, &'static str),
    /// A `findingSeverityCounts` entry gets another count, or another key; or the counts get
    /// one more entry (`HIGH` beside `high` counts twice).
    Count(Index, Value),
    CountKey(Index, &'static str),
    CountInsert(Index, &'static str, Value),
    /// A string anywhere becomes hostile text.
    Hostile(Index, String),
}

fn count_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => select(&[0u64, 1, 2, 1000, u64::MAX - 1, u64::MAX][..]).prop_map(Value::from),
        1 => json_leaf(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => (any::<Index>(), json_value()).prop_map(|(i, v)| Edit::Replace(i, v)),
        3 => (select(KEYS), any::<Index>(), json_value()).prop_map(|(k, i, v)| Edit::Keyed(k, i, v)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::DropElement(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::RemoveKey(a, b)),
        2 => (any::<Index>(), select(SEVERITY_LABELS)).prop_map(|(i, s)| Edit::Severity(i, s)),
        1 => (any::<Index>(), count_value()).prop_map(|(i, v)| Edit::Count(i, v)),
        1 => (any::<Index>(), select(SEVERITY_LABELS)).prop_map(|(i, s)| Edit::CountKey(i, s)),
        1 => (any::<Index>(), select(SEVERITY_LABELS), count_value())
            .prop_map(|(i, s, v)| Edit::CountInsert(i, s, v)),
        3 => (any::<Index>(), hostile()).prop_map(|(i, s)| Edit::Hostile(i, s)),
    ]
}

fn apply(doc: &mut Value, edit: &Edit) {
    let all = paths(doc);
    let pick = |index: &Index, matching: Vec<&Vec<Step>>| -> Option<Vec<Step>> {
        (!matching.is_empty()).then(|| matching[index.index(matching.len())].clone())
    };
    let under_counts = |p: &&Vec<Step>| {
        p.len() >= 2 && p[p.len() - 2] == Step::Key("findingSeverityCounts".into())
    };
    match edit {
        Edit::Replace(i, v) => {
            let path = all[i.index(all.len())].clone();
            *node_mut(doc, &path) = v.clone();
        }
        Edit::Keyed(key, i, v) => {
            let matching = all
                .iter()
                .filter(|p| p.last() == Some(&Step::Key((*key).into())))
                .collect();
            if let Some(path) = pick(i, matching) {
                *node_mut(doc, &path) = v.clone();
            }
        }
        Edit::DropElement(a, b) => {
            let arrays: Vec<&Vec<Step>> = all
                .iter()
                .filter(|p| {
                    node(doc, p)
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty())
                })
                .collect();
            if let Some(path) = pick(a, arrays) {
                let items = node_mut(doc, &path).as_array_mut().unwrap();
                items.remove(b.index(items.len()));
            }
        }
        Edit::RemoveKey(a, b) => {
            let objects: Vec<&Vec<Step>> = all
                .iter()
                .filter(|p| {
                    node(doc, p)
                        .and_then(Value::as_object)
                        .is_some_and(|o| !o.is_empty())
                })
                .collect();
            if let Some(path) = pick(a, objects) {
                let members = node_mut(doc, &path).as_object_mut().unwrap();
                let key = members.keys().nth(b.index(members.len())).unwrap().clone();
                members.remove(&key);
            }
        }
        Edit::Severity(i, label) => {
            let matching = all
                .iter()
                .filter(|p| p.last() == Some(&Step::Key("severity".into())) && !under_counts(p))
                .collect();
            if let Some(path) = pick(i, matching) {
                *node_mut(doc, &path) = Value::from(*label);
            }
        }
        Edit::Count(i, v) => {
            if let Some(path) = pick(i, all.iter().filter(under_counts).collect()) {
                *node_mut(doc, &path) = v.clone();
            }
        }
        Edit::CountKey(i, label) => {
            if let Some(path) = pick(i, all.iter().filter(under_counts).collect()) {
                let Some(Step::Key(old)) = path.last() else {
                    return;
                };
                let counts = node_mut(doc, &path[..path.len() - 1])
                    .as_object_mut()
                    .unwrap();
                if let Some(n) = counts.remove(old) {
                    counts.insert((*label).to_string(), n);
                }
            }
        }
        Edit::CountInsert(i, label, v) => {
            let objects = all
                .iter()
                .filter(|p| {
                    p.last() == Some(&Step::Key("findingSeverityCounts".into()))
                        && node(doc, p).is_some_and(Value::is_object)
                })
                .collect();
            if let Some(path) = pick(i, objects) {
                let counts = node_mut(doc, &path).as_object_mut().unwrap();
                counts.insert((*label).to_string(), v.clone());
            }
        }
        Edit::Hostile(i, text) => {
            let strings = all
                .iter()
                .filter(|p| node(doc, p).is_some_and(Value::is_string))
                .collect();
            if let Some(path) = pick(i, strings) {
                *node_mut(doc, &path) = Value::String(text.clone());
            }
        }
    }
}

/// A damaged JSON document: structural edits, written out (compact or pretty, maybe with a key
/// written twice), then maybe byte damage.
#[derive(Clone, Debug)]
struct JsonDamage {
    edits: Vec<Edit>,
    pretty: bool,
    /// The n-th object (in document order) writes its first key a second time, with this value.
    duplicate: Option<(Index, Value)>,
    bytes: Vec<ByteEdit>,
}

fn json_damage() -> impl Strategy<Value = JsonDamage> {
    (
        prop::collection::vec(edit(), 0..4),
        any::<bool>(),
        prop::option::weighted(0.15, (any::<Index>(), json_leaf())),
        prop_oneof![3 => Just(Vec::new()), 1 => byte_edits()],
    )
        .prop_map(|(edits, pretty, duplicate, bytes)| JsonDamage {
            edits,
            pretty,
            duplicate,
            bytes,
        })
}

/// JSON text of `value` in which the `target`-th object repeats its first key with `extra`.
fn with_duplicate_key(value: &Value, target: usize, extra: &Value) -> String {
    fn write(v: &Value, target: usize, extra: &Value, seen: &mut usize, out: &mut String) {
        match v {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, target, extra, seen, out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                let this = *seen;
                *seen += 1;
                out.push('{');
                for (i, (k, m)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    write(m, target, extra, seen, out);
                }
                if this == target {
                    if let Some((k, _)) = members.iter().next() {
                        out.push(',');
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push(':');
                        out.push_str(&extra.to_string());
                    }
                }
                out.push('}');
            }
            leaf => out.push_str(&leaf.to_string()),
        }
    }
    let mut out = String::new();
    write(value, target, extra, &mut 0, &mut out);
    out
}

fn count_objects(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(count_objects).sum(),
        Value::Object(members) => 1 + members.values().map(count_objects).sum::<usize>(),
        _ => 0,
    }
}

fn damaged_json(original: &Value, how: &JsonDamage) -> Vec<u8> {
    let mut doc = original.clone();
    for edit in &how.edits {
        apply(&mut doc, edit);
    }
    let mut bytes = match &how.duplicate {
        Some((index, extra)) if count_objects(&doc) > 0 => {
            with_duplicate_key(&doc, index.index(count_objects(&doc)), extra).into_bytes()
        }
        _ if how.pretty => serde_json::to_vec_pretty(&doc).unwrap(),
        _ => serde_json::to_vec(&doc).unwrap(),
    };
    damage(&mut bytes, &how.bytes);
    bytes
}

// ---------------------------------------------------------------------------------------
// Checks shared by the properties
// ---------------------------------------------------------------------------------------

/// A ConfigError must name `path` on every line it prints.
fn names_file(error: &ConfigError, path: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&error.path, path);
    prop_assert!(
        !error.problems.is_empty(),
        "an error with no problem: {:?}",
        error
    );
    for line in error.to_string().lines() {
        prop_assert!(
            line.starts_with(path),
            "error line does not name {}: {:?}",
            path,
            line
        );
    }
    Ok(())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// What a CI runner or terminal could act on: a raw ESC anywhere, or a line that starts with
/// `::` (a GitHub workflow command). Runners end a line at `\n` or `\r`.
fn runner_safe(what: &str, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!text.contains('\u{1b}'), "{} holds a raw ESC", what);
    for (n, line) in text.split(['\n', '\r']).enumerate() {
        prop_assert!(
            !line.trim_start().starts_with("::"),
            "{} line {} reads as a workflow command: {:?}",
            what,
            n + 1,
            line
        );
    }
    Ok(())
}

/// Console and Markdown also hold no control (but newline) or bidi character and no CR.
fn terminal_safe(what: &str, text: &str) -> Result<(), TestCaseError> {
    runner_safe(what, text)?;
    for (n, line) in text.lines().enumerate() {
        let bad: Vec<char> = line
            .chars()
            .filter(|c| c.is_control() || is_bidi_control(*c))
            .collect();
        prop_assert!(
            bad.is_empty(),
            "{} line {} holds control or bidi characters {:?}: {:?}",
            what,
            n + 1,
            bad,
            line
        );
    }
    Ok(())
}

/// JUnit must be well-formed XML 1.0: one root, balanced, every attribute and reference valid,
/// no character XML forbids.
fn well_formed_xml(text: &str) -> Result<(), TestCaseError> {
    use quick_xml::events::Event;
    let forbidden = text.chars().find(|c| {
        matches!(*c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    });
    prop_assert!(
        forbidden.is_none(),
        "JUnit holds {:?}, which XML 1.0 forbids",
        forbidden
    );
    let fail =
        |what: &str, e: &dyn std::fmt::Display| TestCaseError::fail(format!("JUnit: {what}: {e}"));
    let attributes_valid = |e: &quick_xml::events::BytesStart| -> Result<(), TestCaseError> {
        for attr in e.attributes() {
            let attr = attr.map_err(|e| fail("bad attribute", &e))?;
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| fail("bad attribute value", &e))?;
        }
        Ok(())
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        match reader.read_event().map_err(|e| fail("not XML", &e))? {
            Event::Start(e) => {
                roots += usize::from(depth == 0);
                depth += 1;
                attributes_valid(&e)?;
            }
            Event::Empty(e) => {
                roots += usize::from(depth == 0);
                attributes_valid(&e)?;
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) => {
                t.decode().map_err(|e| fail("bad text", &e))?;
            }
            Event::GeneralRef(r) => {
                if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .map_err(|e| fail("bad character reference", &e))?;
                    prop_assert!(c.is_some(), "JUnit: a character reference to nothing");
                } else {
                    let name = r.decode().map_err(|e| fail("bad reference", &e))?;
                    prop_assert!(
                        matches!(&*name, "lt" | "gt" | "amp" | "apos" | "quot"),
                        "JUnit: undefined entity &{};",
                        name
                    );
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    prop_assert_eq!(depth, 0, "JUnit: unclosed elements");
    prop_assert_eq!(roots, 1, "JUnit: one root element");
    Ok(())
}

const FORMATS: [(Format, &str); 6] = [
    (Format::Console, "console.txt"),
    (Format::Json, "report.json"),
    (Format::Sarif, "report.sarif"),
    (Format::Junit, "junit.xml"),
    (Format::Markdown, "report.md"),
    (Format::Gitlab, "gitlab.json"),
];

/// Writes every report of `evaluation` into `dir` and checks each one.
fn reports_are_valid(evaluation: &Evaluation, dir: &Path) -> Result<(), TestCaseError> {
    let outputs: Vec<Output> = FORMATS
        .iter()
        .map(|(format, name)| Output {
            format: *format,
            path: Some(dir.join(name)),
        })
        .collect();
    let options = report::Options {
        include_findings: true,
        ..Default::default()
    };
    report::write_all(evaluation, &outputs, &options)
        .map_err(|e| TestCaseError::fail(format!("reports not written: {e}")))?;
    for (format, name) in FORMATS {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let text = String::from_utf8(bytes)
            .map_err(|_| TestCaseError::fail(format!("the {format} report is not UTF-8")))?;
        match format {
            Format::Json | Format::Sarif | Format::Gitlab => {
                serde_json::from_str::<Value>(&text).map_err(|e| {
                    TestCaseError::fail(format!("the {format} report is not JSON: {e}"))
                })?;
                runner_safe(name, &text)?;
            }
            Format::Junit => {
                well_formed_xml(&text)?;
                runner_safe(name, &text)?;
            }
            Format::Console | Format::Markdown => terminal_safe(name, &text)?,
        }
    }
    // On a terminal the console is coloured: every ESC must open one of its own colours.
    for by_repository in [false, true] {
        let mut out = Vec::new();
        report::console::write(evaluation, &mut out, true, by_repository).unwrap();
        let text = String::from_utf8(out).unwrap();
        terminal_safe("coloured console", &strip_colours(&text)?)?;
    }
    // What `wait` writes of the same images.
    let mut out = Vec::new();
    report::console::write_wait(evaluation, &mut out).unwrap();
    report::markdown::write_wait(evaluation, &mut out).unwrap();
    terminal_safe(
        "wait console and markdown",
        &String::from_utf8(out).unwrap(),
    )?;
    let mut out = Vec::new();
    report::json::write(evaluation, &mut out, false).unwrap();
    serde_json::from_slice::<Value>(&out)
        .map_err(|e| TestCaseError::fail(format!("the wait JSON report is not JSON: {e}")))?;
    Ok(())
}

/// The text without the console's SGR colour sequences (`ESC [ digits;… m`); any other ESC is
/// an error.
fn strip_colours(text: &str) -> Result<String, TestCaseError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&rest[..at]);
        let sequence = &rest[at + 1..];
        let body = sequence.strip_prefix('[').map(|s| {
            s.find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .map(|n| (s, n))
        });
        match body {
            Some(Some((s, n))) if s[n..].starts_with('m') => rest = &s[n + 1..],
            _ => {
                return Err(TestCaseError::fail(format!(
                    "the coloured console holds an ESC that is not a colour: {:?}",
                    &rest[at..rest.len().min(at + 20)]
                )))
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn judge(images: Vec<ScannedImage>, policy: &Policy) -> Evaluation {
    ecr_scan_gate::judge::evaluate(images, policy, ecr_scan_gate::timestamp::today_utc())
}

// ---------------------------------------------------------------------------------------
// Saved scan JSON
// ---------------------------------------------------------------------------------------

/// Single-file fixtures: basic, enhanced, epoch, unusable, hostile, and the array of pages.
const SCANS: &[&str] = &[
    "basic-findings.json",
    "enhanced-findings.json",
    "enhanced-active.json",
    "enhanced-epoch.json",
    "epoch-timestamps.json",
    "multi-page.json",
    "missing-pages.json",
    "max-items-truncated.json",
    "count-mismatch.json",
    "unknown-severity.json",
    "hostile-text.json",
    "clean-scan.json",
    "failed-scan.json",
    "in-progress.json",
    "active-old-cli.json",
    "offset-without-colon.json",
    "status-unknown.json",
];

/// A damaged scan: one damaged fixture, or the two page files with one of them damaged.
#[derive(Clone, Debug)]
enum ScanInput {
    One(&'static str, JsonDamage),
    Pages(bool, JsonDamage),
}

fn scan_input() -> impl Strategy<Value = ScanInput> {
    prop_oneof![
        5 => (select(SCANS), json_damage()).prop_map(|(f, d)| ScanInput::One(f, d)),
        1 => (any::<bool>(), json_damage()).prop_map(|(second, d)| ScanInput::Pages(second, d)),
    ]
}

/// Writes the input's files into `dir`, returning their paths.
fn write_scan(input: &ScanInput, dir: &Path) -> Vec<String> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    match input {
        ScanInput::One(name, damage) => {
            vec![write(
                "scan.json",
                &damaged_json(&fixture_json(name), damage),
            )]
        }
        ScanInput::Pages(second, damage) => {
            let pages = ["multi-page/page-1.json", "multi-page/page-2.json"];
            let mut out = Vec::new();
            for (i, page) in pages.iter().enumerate() {
                let bytes = if (i == 1) == *second {
                    damaged_json(&fixture_json(page), damage)
                } else {
                    fixture_bytes(page)
                };
                out.push(write(&format!("page-{}.json", i + 1), &bytes));
            }
            out
        }
    }
}

#[test]
fn saved_scan_json_never_panics_names_the_file_and_reports_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let tally = Tally::default();
    property("saved_scan_json", cases(), scan_input(), |input| {
        let files = write_scan(&input, dir.path());
        match saved::read_inputs(&files) {
            Err(error) => {
                tally.count("rejected");
                let message = error.to_string();
                for line in message.lines() {
                    prop_assert!(
                        files.iter().any(|f| line.starts_with(f.as_str())),
                        "an error line names no input file: {:?}",
                        message
                    );
                }
            }
            Ok(images) => {
                tally.count("accepted");
                prop_assert!(!images.is_empty());
                let evaluation = judge(images, &Policy::default());
                tally.count(match evaluation.outcome() {
                    Outcome::Pass => "pass",
                    Outcome::Violation => "violation",
                    _ => "scan error",
                });
                reports_are_valid(&evaluation, reports.path())?;
            }
        }
        Ok(())
    });
    tally.each_at_least_one_in_100(
        "saved_scan_json",
        cases(),
        &["rejected", "accepted", "violation"],
    );
}

#[test]
fn saved_scan_raw_bytes_never_panic_and_errors_name_the_file() {
    // Pure byte damage, invalid UTF-8 and all, of every fixture including the broken ones.
    let mut all: Vec<String> = SCANS.iter().map(|s| s.to_string()).collect();
    for entry in std::fs::read_dir(root().join("fixtures/bad")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        all.push(format!("bad/{name}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.json").to_str().unwrap().to_string();
    let tally = Tally::default();
    property(
        "saved_scan_raw_bytes",
        cases(),
        (select(all), byte_edits()),
        |(name, edits)| {
            let mut bytes = fixture_bytes(&name);
            damage(&mut bytes, &edits);
            std::fs::write(&path, &bytes).unwrap();
            match saved::read_inputs(std::slice::from_ref(&path)) {
                Ok(_) => tally.count("accepted"),
                Err(error) => {
                    tally.count("rejected");
                    let message = error.to_string();
                    for line in message.lines() {
                        prop_assert!(line.starts_with(&path), "{:?}", message);
                    }
                }
            }
            Ok(())
        },
    );
    tally.each_at_least_one_in_100("saved_scan_raw_bytes", cases(), &["rejected"]);
}

/// Where the findings of a scan document are: `(page, list)` for every non-empty list.
fn finding_lists(doc: &Value) -> Vec<Vec<Step>> {
    let pages: Vec<Vec<Step>> = match doc {
        Value::Array(items) => (0..items.len()).map(|i| vec![Step::At(i)]).collect(),
        _ => vec![Vec::new()],
    };
    let mut lists = Vec::new();
    for page in pages {
        for list in ["findings", "enhancedFindings"] {
            let mut path = page.clone();
            path.extend([
                Step::Key("imageScanFindings".into()),
                Step::Key(list.into()),
            ]);
            if node(doc, &path)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                lists.push(path);
            }
        }
    }
    lists
}

/// Fixtures whose findings ECR's counts fully describe.
const COMPLETE_SCANS: &[&str] = &[
    "basic-findings.json",
    "enhanced-findings.json",
    "enhanced-active.json",
    "enhanced-epoch.json",
    "epoch-timestamps.json",
    "multi-page.json",
    "unknown-severity.json",
    "hostile-text.json",
    "offset-without-colon.json",
];

/// A policy, as flags: the rules that decide whether a missing finding could matter.
#[derive(Clone, Debug)]
struct Flags {
    fail_on: &'static str,
    budgets: Vec<(&'static str, u8)>,
    ignore_unfixed: bool,
    allow_first: bool,
    fail_on_exploitable: Option<&'static str>,
    kev: bool,
    epss: Option<&'static str>,
    vex: bool,
    treat_unknown_high: bool,
}

fn flags() -> impl Strategy<Value = Flags> {
    let severity = select(
        &[
            "critical",
            "high",
            "medium",
            "low",
            "informational",
            "unknown",
        ][..],
    );
    (
        select(
            &[
                "critical",
                "high",
                "medium",
                "low",
                "informational",
                "unknown",
                "none",
            ][..],
        ),
        prop::collection::vec((severity.clone(), 0u8..4), 0..3),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(severity),
        any::<bool>(),
        prop::option::of(select(&["0", "0.1", "0.5", "1"][..])),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                fail_on,
                budgets,
                ignore_unfixed,
                allow_first,
                fail_on_exploitable,
                kev,
                epss,
                vex,
                treat_unknown_high,
            )| Flags {
                fail_on,
                budgets,
                ignore_unfixed,
                allow_first,
                fail_on_exploitable,
                kev,
                epss,
                vex,
                treat_unknown_high,
            },
        )
}

impl Flags {
    fn args(&self, doc: &Value, empty_policy: &str) -> Vec<String> {
        let mut args: Vec<String> = vec!["--fail-on".into(), self.fail_on.into()];
        for (severity, max) in &self.budgets {
            args.push(format!("--max={severity}={max}"));
        }
        if self.ignore_unfixed {
            args.push("--ignore-unfixed".into());
        }
        if self.allow_first {
            // The first finding's id: allowing it makes its loss harmless, and must not hide
            // the loss of any other.
            let list = finding_lists(doc);
            if let Some(path) = list.first() {
                let first = &node(doc, path).expect("a finding list")[0];
                let id = first["name"]
                    .as_str()
                    .or(first["packageVulnerabilityDetails"]["vulnerabilityId"].as_str());
                if let Some(id) = id {
                    args.push(format!("--allow={id}"));
                }
            }
        }
        if let Some(severity) = self.fail_on_exploitable {
            args.push(format!("--fail-on-exploitable={severity}"));
        }
        let risk = |name: &str| crate::util::fixture(&format!("risk/{name}"));
        if self.kev {
            args.push(format!(
                "--kev={}",
                risk("known_exploited_vulnerabilities.json")
            ));
        }
        if let Some(p) = self.epss {
            args.push(format!("--epss={}", risk("epss_scores-2026-12-01.csv")));
            args.push(format!("--fail-on-epss={p}"));
        }
        if self.vex {
            args.push(format!("--vex={}", risk("app-api.openvex.json")));
        }
        args.push("--policy".into());
        args.push(if self.treat_unknown_high {
            crate::util::fixture("policies/treat-unknown-high.toml")
        } else {
            empty_policy.to_string()
        });
        args
    }
}

/// The gate's decision on saved files, through the library's own `evaluate` command: `None`
/// for a usage error (exit 2), else the outcome.
fn gate(files: &[String], args: &[String], report: &Path) -> Option<Outcome> {
    use clap::Parser;
    let mut argv: Vec<String> = vec!["ecr-scan-gate".into(), "--quiet".into(), "evaluate".into()];
    argv.extend(args.iter().cloned());
    argv.push(format!("--output=json={}", report.display()));
    argv.extend(files.iter().cloned());
    let cli = ecr_scan_gate::cli::Cli::try_parse_from(&argv).expect("valid flags");
    ecr_scan_gate::app::run(cli).ok()
}

/// What is dropped from a complete scan.
#[derive(Clone, Debug)]
enum Loss {
    /// Some findings, chosen by index, from the document's lists.
    Findings(Vec<Index>),
    /// A whole page of `multi-page.json`; of a one-page document, every finding.
    Page(Index),
}

#[test]
fn a_scan_that_lost_findings_its_counts_name_never_passes() {
    let dir = tempfile::tempdir().unwrap();
    let empty_policy = dir.path().join("empty.toml");
    std::fs::write(&empty_policy, "").unwrap();
    let empty_policy = empty_policy.to_str().unwrap().to_string();
    let report = dir.path().join("report.json");
    let loss = prop_oneof![
        4 => prop::collection::vec(any::<Index>(), 1..4).prop_map(Loss::Findings),
        1 => any::<Index>().prop_map(Loss::Page),
    ];
    let input = (select(COMPLETE_SCANS), loss, flags(), any::<bool>());
    let tally = Tally::default();
    property(
        "lost_findings",
        cases(),
        input,
        |(name, loss, flags, two_files)| {
            let original = fixture_json(name);
            let args = flags.args(&original, &empty_policy);
            let write = |file: &str, doc: &Value| {
                let path = dir.path().join(file);
                std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
                path.to_str().unwrap().to_string()
            };
            let before = gate(&[write("complete.json", &original)], &args, &report);

            let mut damaged = original.clone();
            let mut lost = 0;
            match &loss {
                Loss::Page(i) if damaged.is_array() => {
                    let pages = damaged.as_array_mut().unwrap();
                    lost += pages[i.index(pages.len())]["imageScanFindings"]["findings"]
                        .as_array()
                        .map_or(0, Vec::len);
                    pages.remove(i.index(pages.len()));
                }
                Loss::Page(_) => {
                    for list in finding_lists(&damaged) {
                        let list = node_mut(&mut damaged, &list).as_array_mut().unwrap();
                        lost += list.len();
                        list.clear();
                    }
                }
                Loss::Findings(picks) => {
                    for pick in picks {
                        let lists = finding_lists(&damaged);
                        if lists.is_empty() {
                            break;
                        }
                        let list = node_mut(&mut damaged, &lists[pick.index(lists.len())])
                            .as_array_mut()
                            .unwrap();
                        list.remove(pick.index(list.len()));
                        lost += 1;
                    }
                }
            }
            if lost == 0 {
                return Ok(());
            }
            // The loss as one file, or (for an array) as the pages left, one file each.
            let files = match (&damaged, two_files) {
                (Value::Array(pages), true) if pages.len() > 1 => pages
                    .iter()
                    .enumerate()
                    .map(|(i, p)| write(&format!("page-{i}.json"), p))
                    .collect(),
                _ => vec![write("damaged.json", &damaged)],
            };
            let after = gate(&files, &args, &report);
            tally.count(match (before, after) {
                (None, _) => "refused before",
                (Some(Outcome::Pass), _) => "passed before",
                (_, None) => "failed, then refused",
                (_, Some(Outcome::Pass)) => "failed, then passed",
                (_, Some(_)) => "failed, then failed",
            });
            if before != Some(Outcome::Pass) {
                prop_assert_ne!(
                    after,
                    Some(Outcome::Pass),
                    "{} failed ({:?}) with every finding, but passed without {} of them",
                    name,
                    before,
                    lost
                );
            }
            Ok(())
        },
    );
    tally.each_at_least_one_in_100(
        "lost_findings",
        cases(),
        &["passed before", "failed, then refused"],
    );
}

// ---------------------------------------------------------------------------------------
// The policy file and the risk data
// ---------------------------------------------------------------------------------------

const POLICIES: &[&str] = &[
    "policies/full.toml",
    "policies/errors.toml",
    "policies/scoped.toml",
    "policies/stale.toml",
    "policies/risk.toml",
    "policies/treat-unknown-high.toml",
];

/// TOML made of policy keys and hostile values, beside the damaged fixtures.
fn generated_policy() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        hostile().prop_map(|s| format!("{}", Value::String(s))),
        select(
            &[
                "\"high\"",
                "\"none\"",
                "true",
                "1",
                "-1",
                "0.1",
                "1e400",
                "9223372036854775808",
                "2027-01-31",
                "2027-13-45",
                "\"xé1234\"",
                "[]",
                "{}",
                "[\"a\", 1]",
                "0x10",
                "nan",
            ][..]
        )
        .prop_map(str::to_string),
    ];
    let key = select(
        &[
            "fail-on",
            "ignore-unfixed",
            "treat-unknown-as",
            "fail-on-epss",
            "fail-on-exploitable",
            "id",
            "reason",
            "expires",
            "package",
            "repository",
            "critical",
            "medium",
            "\"é\"",
        ][..],
    );
    let line = prop_oneof![
        3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}\n")),
        1 => select(&["[[allow]]\n", "[max]\n", "[allow]\n", "[[max]]\n"][..]).prop_map(str::to_string),
    ];
    prop::collection::vec(line, 0..10).prop_map(|l| l.concat())
}

#[test]
fn policy_file_never_panics_names_the_file_and_its_reasons_stay_inert_in_reports() {
    let dir = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    let display = path.to_str().unwrap().to_string();
    let images = saved::read_inputs(&[
        crate::util::fixture("hostile-text.json"),
        crate::util::fixture("enhanced-findings.json"),
    ])
    .unwrap();
    let text = prop_oneof![
        3 => (select(POLICIES), byte_edits()).prop_map(|(name, edits)| {
            damage_text(&String::from_utf8(fixture_bytes(name)).unwrap(), &edits)
        }),
        2 => generated_policy(),
    ];
    // Named as if beside the fixtures (the text is never read from there), so the risk files
    // `risk.toml` names are found.
    let beside = root().join("fixtures/policies/fuzzed.toml");
    let beside = beside.to_str().unwrap();
    let tally = Tally::default();
    property("policy_file", cases(), text, |text| {
        match file::parse(&text, beside) {
            Err(error) => {
                tally.count("rejected");
                names_file(&error, beside)?
            }
            Ok(policy_file) => {
                tally.count("accepted");
                // Paths it names may not exist; that error names them instead.
                if let Ok(policy) = Policy::resolve(Some(policy_file), Overrides::default()) {
                    tally.count("judged");
                    reports_are_valid(&judge(images.clone(), &policy), reports.path())?;
                }
            }
        }
        Ok(())
    });
    tally.each_at_least_one_in_100("policy_file", cases(), &["rejected", "judged"]);
    // And as raw bytes through the loader, invalid UTF-8 included.
    property(
        "policy_file_bytes",
        cases() / 2,
        (select(POLICIES), byte_edits()),
        |(name, edits)| {
            let mut bytes = fixture_bytes(name);
            damage(&mut bytes, &edits);
            std::fs::write(&path, &bytes).unwrap();
            if let Err(error) = file::load(&path) {
                names_file(&error, &display)?;
            }
            Ok(())
        },
    );
}

/// One risk-data reader, its fixture, and how accepted data joins the policy.
#[derive(Clone, Copy, Debug)]
enum Risk {
    Vex,
    Kev,
    EpssCsv,
    EpssGz,
    Baseline,
}

impl Risk {
    fn fixture(self) -> &'static str {
        match self {
            Risk::Vex => "risk/app-api.openvex.json",
            Risk::Kev => "risk/known_exploited_vulnerabilities.json",
            Risk::EpssCsv | Risk::EpssGz => "risk/epss_scores-2026-12-01.csv",
            Risk::Baseline => "risk/baseline-app-api.json",
        }
    }

    fn is_json(self) -> bool {
        !matches!(self, Risk::EpssCsv | Risk::EpssGz)
    }

    /// Reads `bytes` into `policy`, as `--vex`, `--kev`, `--epss` or `--baseline` would.
    fn read(self, bytes: &[u8], path: &str, policy: &mut Policy) -> Result<(), ConfigError> {
        match self {
            Risk::Vex => policy.vex.add(bytes, path),
            Risk::Kev => Kev::parse(bytes, path).map(|k| policy.kev = Some(k)),
            Risk::EpssCsv | Risk::EpssGz => Epss::parse(bytes.to_vec(), path).map(|e| {
                policy.epss = Some(e);
                policy.fail_on_epss = Some(0.1);
            }),
            Risk::Baseline => Baseline::parse(bytes, path).map(|b| policy.baseline = Some(b)),
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Damaged risk data: structural edits for the JSON formats, byte damage for all; the gzip
/// file is damaged before compression (its text) or after (its bytes).
#[derive(Clone, Debug)]
struct RiskInput {
    risk: Risk,
    json: JsonDamage,
    text: Vec<ByteEdit>,
    compressed: Vec<ByteEdit>,
}

fn risk_input() -> impl Strategy<Value = RiskInput> {
    (
        // OpenVEX has the most structure to break: drawn twice as often.
        select(
            &[
                Risk::Vex,
                Risk::Vex,
                Risk::Kev,
                Risk::EpssCsv,
                Risk::EpssGz,
                Risk::Baseline,
            ][..],
        ),
        json_damage(),
        prop_oneof![Just(Vec::new()), byte_edits()],
        prop_oneof![3 => Just(Vec::new()), 1 => byte_edits()],
    )
        .prop_map(|(risk, json, text, compressed)| RiskInput {
            risk,
            json,
            text,
            compressed,
        })
}

fn risk_bytes(input: &RiskInput) -> Vec<u8> {
    let mut bytes = if input.risk.is_json() {
        damaged_json(&fixture_json(input.risk.fixture()), &input.json)
    } else {
        let mut bytes = fixture_bytes(input.risk.fixture());
        damage(&mut bytes, &input.text);
        bytes
    };
    if let Risk::EpssGz = input.risk {
        bytes = gzip(&bytes);
        damage(&mut bytes, &input.compressed);
    }
    bytes
}

#[test]
fn risk_data_never_panics_names_the_file_and_reports_stay_valid() {
    let reports = tempfile::tempdir().unwrap();
    let images = saved::read_inputs(&[
        crate::util::fixture("enhanced-findings.json"),
        crate::util::fixture("hostile-text.json"),
    ])
    .unwrap();
    let tally = Tally::default();
    property("risk_data", cases(), risk_input(), |input| {
        let path = format!("dir é/{:?}.data", input.risk);
        let bytes = risk_bytes(&input);
        let mut policy = Policy::default();
        match input.risk.read(&bytes, &path, &mut policy) {
            Err(error) => {
                tally.count("rejected");
                names_file(&error, &path)?
            }
            Ok(()) => {
                tally.count(match input.risk {
                    Risk::Vex => "VEX accepted",
                    Risk::Kev => "KEV accepted",
                    Risk::EpssCsv => "EPSS accepted",
                    Risk::EpssGz => "EPSS gz accepted",
                    Risk::Baseline => "baseline accepted",
                });
                reports_are_valid(&judge(images.clone(), &policy), reports.path())?
            }
        }
        Ok(())
    });
    tally.each_at_least_one_in_100(
        "risk_data",
        cases(),
        &[
            "rejected",
            "VEX accepted",
            "KEV accepted",
            "baseline accepted",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------

fn reference_text() -> impl Strategy<Value = String> {
    let host = select(
        &[
            "",
            "",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com/",
            "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM/",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com/",
            "localhost:5000/",
            "ghcr.io/",
            "public.ecr.aws/",
            "[::1]:5000/",
            "Ünï.example/",
            "docker.io/library/",
        ][..],
    );
    // Mostly well-formed parts, so the accepting paths run too; each part can go wrong.
    let segment = prop_oneof![
        12 => "[a-z0-9]{1,8}([._-][a-z0-9]{1,4})?",
        2 => select(&["app", "web", "a", "A", "..", ".", "-x", "x-", "a__b", "a___b", ""][..])
            .prop_map(str::to_string),
        1 => hostile(),
    ];
    let tag = prop_oneof![
        12 => "[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}",
        2 => select(&["", "latest", ".x", "-x", "v1/2", "é"][..]).prop_map(str::to_string),
        1 => "[a-z]{300}",
        1 => hostile(),
    ];
    let digest = prop_oneof![
        12 => "sha256:[0-9a-f]{64}",
        2 => "sha512:[0-9a-f]{128}",
        1 => "sha256:[0-9A-F]{64}",
        1 => "sha256:[0-9a-f]{63}",
        1 => hostile(),
    ];
    (
        select(&["", "", "", " ", "\t", "\n"][..]),
        host,
        prop::collection::vec(segment, 1..4),
        prop::option::of(tag),
        prop::option::weighted(0.3, digest),
        select(&["", "", "", " ", "\r\n"][..]),
        prop_oneof![4 => Just(Vec::new()), 1 => prop::collection::vec(byte_edit(), 1..2)],
    )
        .prop_map(|(lead, host, segments, tag, digest, trail, edits)| {
            let mut text = format!("{lead}{host}{}", segments.join("/"));
            if let Some(tag) = tag {
                text.push(':');
                text.push_str(&tag);
            }
            if let Some(digest) = digest {
                text.push('@');
                text.push_str(&digest);
            }
            text.push_str(trail);
            damage_text(&text, &edits)
        })
}

#[test]
fn image_references_never_panic_name_themselves_and_read_back_the_same() {
    let tally = Tally::default();
    property("image_references", cases() * 4, reference_text(), |text| {
        match image_ref::parse(&text) {
            Err(message) => prop_assert!(
                message.contains(&format!("`{}`", text.trim())),
                "the error does not quote the reference: {}",
                message
            ),
            Ok(reference) => {
                tally.count("accepted");
                prop_assert_eq!(&reference.original, text.trim());
                prop_assert_eq!(image_ref::parse(&reference.original), Ok(reference.clone()));
                prop_assert!(!reference.repository.is_empty());
                match &reference.selector {
                    image_ref::Selector::Digest(d) => prop_assert!(image_ref::is_digest(d)),
                    image_ref::Selector::Tag(t) => prop_assert!(image_ref::is_tag(t)),
                }
            }
        }
        // The deployment-file grammar is wider; what it calls ECR the gate must be able to judge.
        if let Ok(image) = deploy::reference::parse(&text) {
            tally.count(if image.is_ecr() {
                "deploy ECR"
            } else {
                "deploy other"
            });
            prop_assert_eq!(
                deploy::reference::parse(&image.lookup()).ok(),
                Some(image.clone()).map(|mut i| {
                    // `lookup` drops the tag of a `tag@digest` pin.
                    if i.digest.is_some() {
                        i.tag = None;
                    }
                    i
                })
            );
            if image.is_ecr() {
                prop_assert!(
                    image_ref::parse(&image.lookup()).is_ok(),
                    "{}",
                    image.lookup()
                );
                let digest = format!("sha256:{}", "a".repeat(64));
                for format in [
                    deploy::Format::Kubernetes,
                    deploy::Format::Ecs,
                    deploy::Format::Compose,
                ] {
                    let pinned = image.pinned(&digest, format);
                    let read = deploy::reference::parse(&pinned);
                    prop_assert!(
                        read.is_ok(),
                        "pinned `{}` does not read: {:?}",
                        pinned,
                        read
                    );
                    prop_assert_eq!(read.unwrap().digest, Some(digest.clone()));
                }
            }
        }
        Ok(())
    });
    tally.each_at_least_one_in_100(
        "image_references",
        cases() * 4,
        &["accepted", "deploy ECR", "deploy other"],
    );
}

// ---------------------------------------------------------------------------------------
// Deployment files
// ---------------------------------------------------------------------------------------

const DEPLOY_FILES: &[&str] = &[
    "deploy/helm-template.yaml",
    "deploy/kubectl-pods.json",
    "deploy/ecs-task-definition.json",
    "deploy/compose.yaml",
    "deploy/bad/invalid-ref.yaml",
    "deploy/bad/no-images.yaml",
    "deploy/bad/parse-error.yaml",
];

fn deploy_error_names(error: &deploy::DeployError, label: &str) -> Result<(), TestCaseError> {
    let message = error.to_string();
    for line in message.lines() {
        prop_assert!(
            line.starts_with(label) || line.starts_with(&format!("no image found in {label}:")),
            "an error line does not name {}: {:?}",
            label,
            message
        );
    }
    Ok(())
}

/// A deployment file: a fixture, maybe a structural edit (JSON) or another image value, maybe
/// byte damage.
type DeployInput = (
    &'static str,
    Option<(Index, Value)>,
    Option<(Index, u8, String)>,
    Vec<ByteEdit>,
);

fn deploy_input() -> impl Strategy<Value = DeployInput> {
    (
        select(DEPLOY_FILES),
        prop::option::weighted(0.3, (any::<Index>(), json_value())),
        prop::option::weighted(0.5, (any::<Index>(), 0u8..3, reference_text())),
        prop_oneof![Just(Vec::new()), prop::collection::vec(byte_edit(), 1..4)],
    )
}

fn deploy_bytes((name, edit, image, edits): DeployInput) -> Vec<u8> {
    let original = fixture_bytes(name);
    let mut bytes = match serde_json::from_slice::<Value>(&original) {
        // The JSON ones get structural edits: any node, or an image value.
        Ok(mut doc) => {
            if let Some((i, v)) = edit {
                apply(&mut doc, &Edit::Replace(i, v));
            }
            if let Some((i, _, reference)) = image {
                apply(&mut doc, &Edit::Keyed("image", i, Value::String(reference)));
            }
            serde_json::to_vec_pretty(&doc).unwrap()
        }
        // The YAML ones get another value after one `image:`, plain or quoted.
        Err(_) => {
            let mut text = String::from_utf8(original).unwrap();
            let keys: Vec<usize> = text.match_indices("image:").map(|(at, _)| at + 6).collect();
            if let (Some((i, style, reference)), false) = (image, keys.is_empty()) {
                let start = keys[i.index(keys.len())];
                let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
                let value = match style {
                    0 => reference,
                    1 => format!("'{}'", reference.replace('\'', "''")),
                    _ => Value::String(reference).to_string(),
                };
                text.replace_range(start..end, &format!(" {value}"));
            }
            text.into_bytes()
        }
    };
    damage(&mut bytes, &edits);
    bytes
}

#[test]
fn deploy_files_never_panic_name_the_file_and_pin_back_to_what_they_read() {
    let label = "deploy é.yaml";
    let digest = format!("sha256:{}", "b".repeat(64));
    let tally = Tally::default();
    property("deploy_files", cases(), deploy_input(), |input| {
        let bytes = deploy_bytes(input);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = match deploy::read(label, text) {
            Err(error) => {
                tally.count("rejected");
                return deploy_error_names(&error, label);
            }
            Ok(file) => file,
        };
        if let Err(error) = file.require_images() {
            tally.count("no images");
            deploy_error_names(&error, label)?;
        }
        for o in &file.occurrences {
            let read = deploy::reference::parse(&o.value);
            prop_assert_eq!(read.as_ref(), Ok(&o.reference));
            prop_assert!(
                file.text.get(o.span.clone()).is_some(),
                "span {:?} off the text",
                o.span
            );
        }
        // Pinning every ECR image and reading the result again finds the same images, pinned.
        let pins: Vec<(usize, String)> = file
            .occurrences
            .iter()
            .enumerate()
            .filter(|(_, o)| o.reference.is_ecr())
            .map(|(i, o)| (i, o.reference.pinned(&digest, o.format)))
            .collect();
        if let Ok(pinned) = file.pinned(&pins) {
            tally.count(if pins.is_empty() {
                "nothing to pin"
            } else {
                "pinned"
            });
            let again = deploy::read(label, pinned.clone());
            prop_assert!(
                again.is_ok(),
                "the pinned file does not read: {:?}\n{}",
                again.err(),
                pinned
            );
            let again = again.unwrap();
            prop_assert_eq!(
                again.occurrences.len(),
                file.occurrences.len(),
                "{}",
                pinned
            );
            for (before, after) in file.occurrences.iter().zip(&again.occurrences) {
                prop_assert_eq!(&before.path, &after.path);
                if before.reference.is_ecr() {
                    prop_assert_eq!(after.reference.digest.as_ref(), Some(&digest));
                } else {
                    prop_assert_eq!(&before.value, &after.value);
                }
            }
        }
        Ok(())
    });
    tally.each_at_least_one_in_100("deploy_files", cases(), &["rejected", "pinned"]);
    // Raw bytes through the path reader: invalid UTF-8 is named, never a panic.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.yaml");
    let shown = path.to_str().unwrap().to_string();
    property(
        "deploy_file_bytes",
        cases() / 2,
        (select(DEPLOY_FILES), byte_edits()),
        |(name, edits)| {
            let mut bytes = fixture_bytes(name);
            damage(&mut bytes, &edits);
            std::fs::write(&path, &bytes).unwrap();
            if let Err(error) = deploy::read_path(&shown) {
                deploy_error_names(&error, &shown)?;
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// End to end, through the binary
// ---------------------------------------------------------------------------------------

fn exit_label(code: i32) -> &'static str {
    match code {
        0 => "exit 0",
        1 => "exit 1",
        2 => "exit 2",
        3 => "exit 3",
        _ => "another exit",
    }
}

/// The binary's own contract on damaged input: an exit code among `allowed`, never a panic;
/// every error line of exit 2 names one of `named`; stdout and stderr stay inert.
fn binary_contract(
    code: i32,
    allowed: std::ops::RangeInclusive<i32>,
    stdout: &str,
    stderr: &str,
    named: &[String],
) -> Result<(), TestCaseError> {
    prop_assert!(!stderr.contains("panicked"), "a panic:\n{}", stderr);
    prop_assert!(allowed.contains(&code), "exit {}:\n{}", code, stderr);
    if code == 2 {
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        prop_assert!(
            !errors.is_empty(),
            "exit 2 without an error line:\n{}",
            stderr
        );
        for line in errors {
            prop_assert!(
                named.iter().any(|f| line.contains(f.as_str())),
                "an error line of exit 2 names none of {:?}:\n{}",
                named,
                stderr
            );
        }
    }
    terminal_safe("stdout", stdout)?;
    terminal_safe("stderr", stderr)
}

#[test]
fn the_binary_on_damaged_saved_json_exits_0_to_3_never_panics_and_names_the_file() {
    let tally = Tally::default();
    let count = (cases() / 10).max(8);
    property("binary_saved_json", count, scan_input(), |input| {
        let mut gate = bin();
        let files = write_scan(&input, gate.dir());
        let sarif = gate.dir().join("report.sarif");
        gate.arg("evaluate")
            .args(&files)
            .arg("-o")
            .arg("console")
            .arg("-o")
            .arg(format!("sarif={}", sarif.display()));
        let output = gate.output().expect("the binary runs");
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        tally.count(exit_label(code));
        // A damaged status can make a scan unusable (3); nothing here talks to AWS (never 4).
        binary_contract(code, 0..=3, &stdout, &stderr, &files)?;
        if code != 2 {
            let log = std::fs::read(&sarif).unwrap();
            prop_assert!(
                serde_json::from_slice::<Value>(&log).is_ok(),
                "SARIF does not parse"
            );
        }
        Ok(())
    });
    tally.each_at_least_one_in_100("binary_saved_json", count, &["exit 1", "exit 2"]);
}

#[test]
fn the_binary_on_damaged_policy_and_risk_data_exits_0_to_3_and_names_the_file() {
    let input = prop_oneof![
        1 => (select(POLICIES), byte_edits()).prop_map(|(name, edits)| {
            let mut bytes = fixture_bytes(name);
            damage(&mut bytes, &edits);
            ("--policy", "policy.toml".to_string(), bytes)
        }),
        3 => risk_input().prop_map(|input| {
            let (flag, name) = match input.risk {
                Risk::Vex => ("--vex", "vex.json"),
                Risk::Kev => ("--kev", "kev.json"),
                Risk::EpssCsv => ("--epss", "epss.csv"),
                Risk::EpssGz => ("--epss", "epss.csv.gz"),
                Risk::Baseline => ("--baseline", "baseline.json"),
            };
            (flag, name.to_string(), risk_bytes(&input))
        }),
    ];
    let tally = Tally::default();
    let count = (cases() / 10).max(8);
    property("binary_risk_data", count, input, |(flag, name, bytes)| {
        let mut gate = bin();
        let path = gate.dir().join(&name);
        std::fs::write(&path, &bytes).unwrap();
        gate.arg("evaluate")
            .arg(format!("{flag}={}", path.display()))
            .arg(crate::util::fixture("enhanced-findings.json"));
        let output = gate.output().expect("the binary runs");
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A damaged policy file can name a risk file of its own, which its error names.
        let mut named = vec![path.display().to_string()];
        if flag == "--policy" {
            named.push("cannot read".to_string());
        }
        tally.count(exit_label(code));
        binary_contract(code, 0..=3, &stdout, &stderr, &named)
    });
    tally.each_at_least_one_in_100("binary_risk_data", count, &["exit 1", "exit 2"]);
}

#[test]
fn the_binary_on_damaged_deploy_files_never_passes_when_aws_answers_nothing() {
    // An ECR that denies every call: no image can be read, so nothing may pass.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(async {
        let fake = crate::fake_ecr::FakeEcr::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(crate::fake_ecr::aws_error(
                400,
                "AccessDeniedException",
                "denied",
            ))
            .mount(&fake.server)
            .await;
        fake
    });
    let tally = Tally::default();
    let count = (cases() / 10).max(8);
    let input = (deploy_input(), select(&["warn", "fail", "ignore"][..]));
    property("binary_deploy_files", count, input, |(input, non_ecr)| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deploy.yaml");
        std::fs::write(&path, deploy_bytes(input)).unwrap();
        let report = dir.path().join("report.json");
        let args = vec![
            "check".to_string(),
            "--images-from".to_string(),
            path.display().to_string(),
            "--max-attempts=1".to_string(),
            format!("--non-ecr={non_ecr}"),
            format!("--output=json={}", report.display()),
        ];
        let output = crate::live::command(fake.uri(), args, Vec::new())
            .current_dir(dir.path())
            .output()
            .expect("the binary runs");
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        tally.count(match code {
            2 => "exit 2",
            3 | 4 => "judged nothing",
            _ => "another exit",
        });
        // With every call denied nothing passes or violates: a usage error, or each image an
        // AWS (or, for images elsewhere under --non-ecr fail, a scan) error.
        binary_contract(code, 2..=4, &stdout, &stderr, &[path.display().to_string()])?;
        if code != 2 {
            let json = std::fs::read(&report).unwrap();
            prop_assert!(
                serde_json::from_slice::<Value>(&json).is_ok(),
                "the report does not parse"
            );
        }
        Ok(())
    });
    tally.each_at_least_one_in_100("binary_deploy_files", count, &["exit 2", "judged nothing"]);
}
