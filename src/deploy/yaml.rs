//! A YAML stream (JSON included) as a small tree whose scalars know the byte range of their text
//! in the input, so a value can be replaced in place without re-serialising anything.
//!
//! `saphyr-parser` is the event parser: it is maintained (the successor of `yaml-rust`, which
//! `serde_yaml` no longer is), YAML 1.2 with JSON as a subset, and it gives every event a span.
//! Its markers count characters, not bytes, and a scalar's span starts at its anchor or tag and
//! takes its quotes in: both are corrected here, once, so no caller slices at a char index.

use std::ops::Range;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// One node. Aliases are resolved to the anchored node itself (shared, not copied), so an image
/// reached through `*alias` points at the text where the anchor wrote it.
#[derive(Debug)]
pub(super) enum Node {
    Scalar(Scalar),
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

/// How a scalar was written; only these forms can be replaced by a one-line reference safely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>`: replacing the text would keep the indicator and the indentation rules.
    Block,
}

#[derive(Debug)]
pub(super) struct Scalar {
    /// The value with quotes and escapes resolved.
    pub value: String,
    pub style: Style,
    /// `!!str` and friends, as `tag:yaml.org,2002:str`; `None` when untagged.
    pub tag: Option<String>,
    /// Bytes of the scalar's own text: after any anchor or tag, inside the quotes; `None` if
    /// the parser's span could not be matched to the text (never seen, but never trusted).
    pub span: Option<Range<usize>>,
}

/// Where the parser stopped, 1-based line and column (in characters, as editors count).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Node {
    /// The value under `key`, looking through `<<` merge keys the way YAML 1.1 loaders (and so
    /// kubectl and Compose) do: own keys first, then each merged mapping in order.
    ///
    /// A key written twice is an error rather than "last wins": loaders disagree on which copy
    /// counts, and the gate must judge the image that is deployed.
    ///
    /// Depth first without recursion, each mapping looked at once: anchors merged into anchors
    /// that merge others (`<<: [*a, *a]` at each level) would otherwise take exponential time.
    pub fn get(&self, key: &str) -> Result<Option<&Rc<Node>>, Duplicate> {
        let mut seen: std::collections::HashSet<*const Node> = std::collections::HashSet::new();
        let mut next: Vec<&Node> = vec![self];
        while let Some(node) = next.pop() {
            let Node::Map(entries) = node else {
                continue;
            };
            if !seen.insert(node) {
                continue;
            }
            let mut own = entries.iter().filter(|(k, _)| k.as_str() == Some(key));
            if let Some((_, value)) = own.next() {
                if own.next().is_some() {
                    return Err(Duplicate);
                }
                return Ok(Some(value));
            }
            // Pushed last to first, so the first merged mapping (and what it merges) is next.
            let at = next.len();
            for (_, value) in entries.iter().filter(|(k, _)| is_merge_key(k)) {
                match &**value {
                    Node::Seq(items) => next.extend(items.iter().map(|i| &**i)),
                    other => next.push(other),
                }
            }
            next[at..].reverse();
        }
        Ok(None)
    }

    /// The text of a string scalar (any quoting); `None` for anything else.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) if s.is_string() => Some(&s.value),
            _ => None,
        }
    }

    /// What the node is, for "is a mapping, not …" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Node::Scalar(s) => s.describe(),
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

/// A mapping holds the same key more than once.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Duplicate;

fn is_merge_key(key: &Node) -> bool {
    matches!(key, Node::Scalar(s) if s.value == "<<" && s.style == Style::Plain
        && s.tag.as_deref().is_none_or(|t| t == "tag:yaml.org,2002:merge"))
}

impl Scalar {
    /// Whether YAML reads this as a string: quoted, tagged `!!str`, or plain text that the core
    /// schema does not turn into null, a boolean or a number.
    pub fn is_string(&self) -> bool {
        match self.tag.as_deref() {
            Some("tag:yaml.org,2002:str") => true,
            Some(_) => false,
            None => self.style != Style::Plain || plain_type(&self.value).is_none(),
        }
    }

    fn describe(&self) -> &'static str {
        match self.tag.as_deref() {
            Some("tag:yaml.org,2002:str") => "a string",
            Some(_) => "a tagged value",
            None if self.style != Style::Plain => "a string",
            None => plain_type(&self.value).unwrap_or("a string"),
        }
    }
}

/// What the YAML 1.2 core schema makes of plain text other than a string (JSON's `null`,
/// `true`, numbers included), as an article and a noun.
pub(super) fn plain_type(text: &str) -> Option<&'static str> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some("null"),
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return Some("a boolean"),
        ".nan" | ".NaN" | ".NAN" => return Some("a number"),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    let is_int = digits(unsigned, 10)
        || text.strip_prefix("0o").is_some_and(|s| digits(s, 8))
        || text.strip_prefix("0x").is_some_and(|s| digits(s, 16));
    let is_inf = matches!(unsigned, ".inf" | ".Inf" | ".INF");
    (is_int || is_inf || is_float(unsigned)).then_some("a number")
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's float without its sign.
fn is_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            all_digits(int) && all_digits(frac) && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// How deep sequences and mappings may nest, aliases included. The parser limits only flow
/// (`[`, `{`) nesting; block nesting (`- - - …`) and a chain of anchors each holding the one
/// before are unlimited there, and a tree a few hundred thousand levels deep overflows the
/// stack when it is dropped. Deployment files nest a few dozen levels.
const MAX_DEPTH: usize = 256;

/// Every document of the stream, in order; an empty document (a Helm template that rendered to
/// nothing but its `# Source:` comment) is a null scalar, so numbering matches the `---`s.
pub(super) fn parse(text: &str) -> Result<Vec<Rc<Node>>, ParseError> {
    let offsets = Offsets::new(text);
    let mut documents = Vec::new();
    // Each anchored node with its height: how many sequences and mappings deep it goes.
    let mut anchors: Vec<Option<(Rc<Node>, usize)>> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let too_deep = |span: Span| {
        at(
            span,
            &format!(
                "sequences and mappings nest deeper than {MAX_DEPTH} levels (aliases included)"
            ),
        )
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        let node = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    _ => Style::Block,
                };
                let span = scalar_text(text, offsets.bytes(span), style, &value);
                let scalar = Scalar {
                    value: value.into_owned(),
                    style,
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    span,
                };
                (Rc::new(Node::Scalar(scalar)), 0, anchor)
            }
            Event::Alias(anchor) => {
                let (node, height) =
                    anchors.get(anchor).and_then(Clone::clone).ok_or_else(|| {
                        at(
                            span,
                            "an alias refers to an anchor that is not complete yet",
                        )
                    })?;
                (node, height, 0)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() == MAX_DEPTH {
                    return Err(too_deep(span));
                }
                let seq = matches!(event, Event::SequenceStart(..));
                stack.push(Frame {
                    anchor,
                    seq,
                    items: Vec::new(),
                    height: 0,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack.pop().expect("the parser balances its events");
                let node = if frame.seq {
                    Node::Seq(frame.items)
                } else {
                    let mut items = frame.items.into_iter();
                    let mut entries = Vec::new();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        entries.push((k, v));
                    }
                    Node::Map(entries)
                };
                (Rc::new(node), frame.height + 1, frame.anchor)
            }
            _ => continue,
        };
        let (node, height, anchor) = node;
        if stack.len() + height > MAX_DEPTH {
            return Err(too_deep(span));
        }
        if anchor != 0 {
            if anchors.len() <= anchor {
                anchors.resize(anchor + 1, None);
            }
            anchors[anchor] = Some((node.clone(), height));
        }
        match stack.last_mut() {
            Some(frame) => {
                frame.height = frame.height.max(height);
                frame.items.push(node);
            }
            None => documents.push(node),
        }
    }
    Ok(documents)
}

/// A sequence or mapping being built; a mapping's items alternate key, value.
struct Frame {
    anchor: usize,
    /// The greatest height of its items so far.
    height: usize,
    seq: bool,
    items: Vec<Rc<Node>>,
}

fn scan_error(error: &ScanError) -> ParseError {
    ParseError {
        line: error.marker().line(),
        column: error.marker().col() + 1,
        message: error.info().to_string(),
    }
}

fn at(span: Span, message: &str) -> ParseError {
    ParseError {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.to_string(),
    }
}

/// The scalar's own text within the bytes of its event: anchor and tag properties (and the
/// blanks, line breaks and comments after them) skipped, quotes dropped. `None` when the text
/// found does not read back as the value (where no escape or line folding explains a
/// difference): a replacement there would not be safe, so such a value cannot be pinned.
fn scalar_text(text: &str, span: Range<usize>, style: Style, value: &str) -> Option<Range<usize>> {
    let token = text.get(span.clone())?;
    let mut start = 0;
    while token[start..].starts_with(['&', '!']) {
        // Anchor names and tags hold no blanks and no flow indicators.
        start += token[start..]
            .find([' ', '\t', '\r', '\n', ',', '[', ']', '{', '}'])
            .unwrap_or(token.len() - start);
        loop {
            let rest = &token[start..];
            let blank = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            start += rest.len() - blank.len();
            if !blank.starts_with('#') {
                break;
            }
            start += blank.find('\n').unwrap_or(blank.len());
        }
    }
    if style == Style::Plain && value.is_empty() {
        // An empty node's event covers whatever follows it (the next `---`, say).
        return Some(span.start + start..span.start + start);
    }
    let content = span.start + start..span.end;
    let (quote, escaped) = match style {
        Style::SingleQuoted => (b'\'', "''"),
        Style::DoubleQuoted => (b'"', "\\"),
        Style::Plain => return read_back(text, content, "", value),
        Style::Block => return Some(content),
    };
    // A quoted scalar's event runs on over the blanks and any comment after the closing
    // quote, so the quote is found by reading the text itself.
    let inner = text.get(content.clone())?.as_bytes();
    if inner.first() != Some(&quote) {
        return None;
    }
    let mut at = 1;
    let close = loop {
        match (inner.get(at)?, inner.get(at + 1)) {
            (b'\\', Some(_)) if quote == b'"' => at += 2,
            (b'\'', Some(b'\'')) if quote == b'\'' => at += 2,
            (&b, _) if b == quote => break at,
            _ => at += 1,
        }
    };
    read_back(
        text,
        content.start + 1..content.start + close,
        escaped,
        value,
    )
}

/// `Some(range)` unless the text is on one line, free of `escape`, and still not the value.
fn read_back(text: &str, range: Range<usize>, escape: &str, value: &str) -> Option<Range<usize>> {
    let raw = text.get(range.clone())?;
    let literal = !raw.contains(['\n', '\r']) && (escape.is_empty() || !raw.contains(escape));
    (!literal || raw == value).then_some(range)
}

/// Character index → byte offset. The parser counts characters; a checkpoint every 64 of them
/// keeps the lookup short without a table as large as the input.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    checkpoints: Vec<usize>,
}

const STRIDE: usize = 64;

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let ascii = text.is_ascii();
        let checkpoints = if ascii {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(STRIDE)
                .map(|(byte, _)| byte)
                .collect()
        };
        Offsets {
            text,
            ascii,
            checkpoints,
        }
    }

    fn byte(&self, index: usize) -> usize {
        if self.ascii {
            return index.min(self.text.len());
        }
        let Some(&base) = self.checkpoints.get(index / STRIDE) else {
            return self.text.len();
        };
        self.text[base..]
            .char_indices()
            .nth(index % STRIDE)
            .map_or(self.text.len(), |(byte, _)| base + byte)
    }

    fn bytes(&self, span: Span) -> Range<usize> {
        self.byte(span.start.index())..self.byte(span.end.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scalar with its value, style and the text its span covers.
    fn scalars(text: &str) -> Vec<(String, Style, String)> {
        fn walk(node: &Node, text: &str, out: &mut Vec<(String, Style, String)>) {
            match node {
                Node::Scalar(s) => {
                    let span = s.span.clone().expect("every test scalar is located");
                    out.push((s.value.clone(), s.style, text[span].into()))
                }
                Node::Seq(items) => items.iter().for_each(|n| walk(n, text, out)),
                Node::Map(entries) => entries.iter().for_each(|(k, v)| {
                    walk(k, text, out);
                    walk(v, text, out)
                }),
            }
        }
        let mut out = Vec::new();
        for doc in parse(text).unwrap() {
            walk(&doc, text, &mut out);
        }
        out
    }

    fn raw(text: &str, value: &str) -> String {
        let all = scalars(text);
        let found = all.iter().find(|(v, ..)| v == value);
        found
            .unwrap_or_else(|| panic!("{value} not in {all:?}"))
            .2
            .clone()
    }

    #[test]
    fn spans_are_bytes_after_multibyte_text_bom_and_crlf() {
        let text = "\u{feff}# café ☕\r\nnote: \"naïve ünïcode 😀\"\r\nimage: 'a/é:1'\r\nx: ok\r\n";
        assert_eq!(raw(text, "naïve ünïcode 😀"), "naïve ünïcode 😀");
        assert_eq!(raw(text, "a/é:1"), "a/é:1");
        assert_eq!(raw(text, "ok"), "ok");
    }

    #[test]
    fn spans_stay_right_far_into_a_non_ascii_file() {
        // Past many checkpoints, with multibyte characters on both sides of a stride boundary.
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!("k{i}: \"ééé{i}\"\n"));
        }
        text.push_str("last: value\n");
        assert_eq!(raw(&text, "ééé317"), "ééé317");
        assert_eq!(raw(&text, "value"), "value");
    }

    #[test]
    fn quotes_anchors_and_tags_are_outside_the_span() {
        let text =
            "a: &x 'q'  \nb: !!str \"d\"\t # c\nc: &y !!str plain  # c\nd: &z\n  # why\n  under\n";
        let got: Vec<_> = scalars(text).into_iter().map(|(_, _, raw)| raw).collect();
        assert_eq!(got, ["a", "q", "b", "d", "c", "plain", "d", "under"]);
        let text = "a: \"x\\\"y\" # say \"hi\"\nb: 'it''s' # 'c'\nc: [\"\", '']\n";
        let got: Vec<_> = scalars(text).into_iter().map(|(_, _, raw)| raw).collect();
        assert_eq!(got, ["a", r#"x\"y"#, "b", "it''s", "c", "", ""]);
    }

    #[test]
    fn json_escapes_are_resolved_in_the_value_and_kept_raw_in_the_span() {
        let text = r#"{"image":"ghcr.io\/a\/b:1","t":"tab\there","u":"\u00e9"}"#;
        let all = scalars(text);
        assert_eq!(all[1].0, "ghcr.io/a/b:1");
        assert_eq!(all[1].2, r"ghcr.io\/a\/b:1");
        assert_eq!(all[3].0, "tab\there");
        assert_eq!(all[5], ("é".into(), Style::DoubleQuoted, r"\u00e9".into()));
    }

    #[test]
    fn json_with_tabs_and_no_spaces_parses() {
        let text = "{\n\t\"a\":[1,\"two\"],\n\t\"b\":{}\n}\n";
        assert_eq!(raw(text, "two"), "two");
    }

    #[test]
    fn helm_empty_documents_keep_their_number() {
        let text = "---\n# Source: c/templates/empty.yaml\n---\n# Source: c/x.yaml\na: b\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert!(matches!(&*docs[0], Node::Scalar(s) if s.value.is_empty()));
        assert_eq!(docs[1].get("a").unwrap().unwrap().as_str(), Some("b"));
    }

    #[test]
    fn aliases_share_the_anchored_text_and_merge_keys_are_followed() {
        let text = "base: &b\n  image: 'x:1'\n  n: 1\nweb:\n  <<: *b\n  n: 2\nother:\n  <<: [{k: v}, *b]\n";
        let docs = parse(text).unwrap();
        let web = docs[0].get("web").unwrap().unwrap();
        let Node::Scalar(image) = &**web.get("image").unwrap().unwrap() else {
            panic!()
        };
        assert_eq!(
            image.span,
            Some(text.find("x:1").unwrap()..text.find("x:1").unwrap() + 3)
        );
        assert_eq!(web.get("n").unwrap().unwrap().describe(), "a number");
        let other = docs[0].get("other").unwrap().unwrap();
        assert_eq!(other.get("image").unwrap().unwrap().as_str(), Some("x:1"));
        assert_eq!(other.get("k").unwrap().unwrap().as_str(), Some("v"));
    }

    #[test]
    fn a_key_written_twice_is_refused_when_read() {
        let docs = parse("image: a\nimage: b\nname: n\n").unwrap();
        assert!(matches!(docs[0].get("image"), Err(Duplicate)));
        assert!(docs[0].get("name").is_ok());
    }

    #[test]
    fn core_schema_values_are_not_strings() {
        for (text, kind) in [
            ("", "null"),
            ("~", "null"),
            ("true", "a boolean"),
            ("5", "a number"),
            ("0x1F", "a number"),
            ("-12", "a number"),
            ("1.5e3", "a number"),
            (".5", "a number"),
            ("-.inf", "a number"),
        ] {
            assert_eq!(plain_type(text), Some(kind), "{text:?}");
        }
        for text in ["nginx", "1.2.3", "e5", "0x", "-0x1F", ".", "yes", "5:1"] {
            assert_eq!(plain_type(text), None, "{text:?}");
        }
        let docs = parse("a: '5'\nb: !!str 5\nc: 5\nd: !!int x\n").unwrap();
        let kind = |k| docs[0].get(k).unwrap().unwrap().as_str();
        assert_eq!(
            (kind("a"), kind("b"), kind("c"), kind("d")),
            (Some("5"), Some("5"), None, None)
        );
    }

    #[test]
    fn block_scalars_are_marked() {
        assert_eq!(scalars("a: |\n  x\n")[1].1, Style::Block);
        assert_eq!(scalars("a: >-\n  x\n")[1].1, Style::Block);
    }

    #[test]
    fn parse_errors_give_line_and_column() {
        let err = parse("a: b\nc: [d\n").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        let err = parse("a: b\n  c: d\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 4), "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        // The parser's own depth limit keeps the tree (and its recursive drop) shallow.
        let text = "[".repeat(100_000);
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err:?}");
    }

    // Issue 19 (found while fuzzing): the parser limits flow nesting only, so 100,000 nested
    // block sequences (a 200 KB file) built a tree whose drop overflowed the stack: an abort,
    // not an error naming the file.
    // Issue 19 (found while fuzzing): a chain of 100,000 anchors, each a mapping holding the
    // one before, overflowed the stack; merges of merges (`<<: [*a, *a]` at 40 levels, a 1.6 KB
    // file) made each key lookup take 2^40 steps.
    #[test]
    fn hostile_anchor_chains_are_an_error_and_merges_of_merges_stay_fast() {
        let mut chain = String::from("x0: &a0 {k: v}\n");
        for i in 1..100_000 {
            chain.push_str(&format!("x{i}: &a{i} {{<<: *a{}}}\n", i - 1));
        }
        let err = parse(&chain).unwrap_err();
        assert!(err.message.contains("aliases included"), "{err:?}");
        assert_eq!(err.line, 256, "{err:?}");

        let mut laughs = String::from("x0: &a0 {k: v}\n");
        for i in 1..40 {
            laughs.push_str(&format!("x{i}: &a{i} {{<<: [*a{0}, *a{0}]}}\n", i - 1));
        }
        laughs.push_str("<<: *a39\n");
        let root = &parse(&laughs).unwrap()[0];
        assert!(matches!(root.get("kind"), Ok(None)));
        assert!(root.get("k").unwrap().is_some());
    }

    #[test]
    fn merges_are_looked_through_depth_first_in_order() {
        let text = "a: &a {k: from-a}\nb: &b {<<: *a}\nc: &c {k: from-c}\nroot: {<<: [*b, *c]}\n";
        let root = &parse(text).unwrap()[0];
        let merged = root.get("root").unwrap().unwrap();
        let found = merged.get("k").unwrap().unwrap();
        assert_eq!(found.as_str(), Some("from-a"));
    }

    #[test]
    fn hostile_block_nesting_is_an_error_not_a_crash() {
        for text in [
            "- ".repeat(100_000),
            "a:\n".to_string() + &" - ".repeat(100_000),
        ] {
            let err = parse(&text).unwrap_err();
            assert!(err.message.contains("deeper than 256"), "{err:?}");
            assert_eq!(err.line, 1 + usize::from(text.starts_with('a')), "{err:?}");
        }
        let deep_enough = "- ".repeat(MAX_DEPTH) + "x\n";
        assert!(parse(&deep_enough).is_ok());
    }
}
