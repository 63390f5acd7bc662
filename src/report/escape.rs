//! Escaping untrusted finding text (titles, descriptions, package names come from package
//! metadata) for each output. JSON, SARIF, JUnit and GitLab escape through their serialisers;
//! the console and Markdown need the rules here.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Position;

/// Bidirectional-override and isolate characters that can make text read differently from
/// what it is (trojan-source style).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
            // Line and paragraph separators: line breaks to some viewers.
            | '\u{2028}' | '\u{2029}'
    )
}

/// Text for one line of terminal output: no escape sequences, no control characters, no bidi
/// overrides, and no `::` that a CI runner could read as a workflow command.
pub fn terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {
                out.extend(c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    neutralise_workflow_commands(&out)
}

/// GitHub runners act on `::command::` at the start of a line and on the legacy `##[command]`
/// anywhere in it; Azure Pipelines on `##vso[`. A word joiner between the marks keeps the text
/// readable and inert.
fn neutralise_workflow_commands(text: &str) -> String {
    if text.contains("::") || text.contains("##") {
        text.replace("::", ":\u{2060}:").replace("##", "#\u{2060}#")
    } else {
        text.to_string()
    }
}

/// One line of a report that keeps the line breaks of its text (JUnit XML): when it starts,
/// after white space, with `::` or `##`, a word joiner goes between the two marks so no CI
/// runner reads the line as a command. The rest of the line is kept as written.
pub fn inert_line(line: &str) -> std::borrow::Cow<'_, str> {
    let body = line.trim_start();
    if body.starts_with("::") || body.starts_with("##") {
        let lead = line.len() - body.len();
        std::borrow::Cow::Owned(format!(
            "{}{}\u{2060}{}",
            &line[..lead],
            &body[..1],
            &body[1..]
        ))
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

/// Text for a Markdown table cell or paragraph: one line, Markdown and HTML specials escaped so
/// nothing renders as a link, image, heading, table break or HTML.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in terminal(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            // `@name` would notify people in a merge-request note.
            '@' => out.push_str("@\u{2060}"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Everything RFC 3986 does not allow outside the authority, plus `'`, `(`, `)`, `[` and `]`:
/// legal in places, but they close Markdown links and HTML attributes, and SARIF consumers
/// reject brackets outside an IPv6 host.
const NOT_IN_LINK: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'/')
    .remove(b'?')
    .remove(b'#')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'%');

/// A reference URL fit to be a link: an absolute http(s) URL with a host, percent-encoded so
/// hostile metadata cannot break out of an attribute or a link.
pub fn url(text: &str) -> Option<String> {
    let parsed = url::Url::parse(text.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return None;
    }
    let (authority, rest) = parsed
        .as_str()
        .split_at(parsed[..Position::BeforePath].len());
    Some(format!(
        "{authority}{}",
        utf8_percent_encode(rest, NOT_IN_LINK)
    ))
}

/// A relative URI reference for a file path: `/` kept, anything outside RFC 3986's unreserved
/// set percent-encoded (a `:` in the first segment would otherwise read as a scheme).
pub fn path_uri(path: &str) -> String {
    const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(path.trim_start_matches('/'), NOT_UNRESERVED).to_string()
}

/// Shortens text for a one-line display, on a character boundary; no copy when it fits.
pub fn truncate(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    // Byte length bounds the character count, so short text needs no counting.
    if text.len() <= max_chars || text.chars().count() <= max_chars {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    std::borrow::Cow::Owned(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_has_no_escapes_controls_or_bidi() {
        let hostile = "\u{1b}[31mred\u{1b}]0;title\u{7} \u{202E}evil\u{2066}x\u{0}\nline2";
        let out = terminal(hostile);
        assert!(!out.chars().any(|c| c.is_control()), "{out:?}");
        assert!(!out.chars().any(is_bidi_control), "{out:?}");
        assert!(out.contains("\\u{1b}[31mred"), "{out:?}");
    }

    #[test]
    fn terminal_text_cannot_start_a_workflow_command() {
        let out = terminal("x\n::error file=a::pwned\n::add-mask::s");
        assert!(!out.contains("::"), "{out}");
        assert!(!out.lines().any(|l| l.trim_start().starts_with("::")));
    }

    #[test]
    fn a_line_of_kept_text_cannot_start_a_workflow_command() {
        assert_eq!(inert_line(" \t::error::x"), " \t:\u{2060}:error::x");
        assert_eq!(inert_line("##[error]x"), "#\u{2060}#[error]x");
        assert_eq!(inert_line("a ::error::x"), "a ::error::x");
        assert_eq!(inert_line(":x"), ":x");
        assert!(matches!(
            inert_line("<testcase>"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn legacy_and_azure_commands_are_neutralised() {
        let out = terminal("title ##[error]x ##vso[task.setvariable]y");
        assert!(!out.contains("##"), "{out}");
    }

    #[test]
    fn markdown_escapes_specials_and_html() {
        let out =
            markdown("a | b [x](javascript:alert(1)) <img src=x onerror=alert(1)> # h *b* `c`");
        assert!(!out.contains("<img"), "{out}");
        assert!(
            out.contains("\\|") && out.contains("\\[x\\]") && out.contains("\\`c\\`"),
            "{out}"
        );
    }

    #[test]
    fn urls_are_http_only_and_encoded() {
        assert_eq!(url("javascript:alert(1)"), None);
        assert_eq!(
            url("https://x.test/a?id=1&b=\"><b>x</b>").as_deref(),
            Some("https://x.test/a?id=1&b=%22%3E%3Cb%3Ex%3C/b%3E")
        );
        assert_eq!(
            url("https://x.test/a b(c)").as_deref(),
            Some("https://x.test/a%20b%28c%29")
        );
    }

    #[test]
    fn urls_keep_brackets_out_of_the_path_and_query() {
        let out = url("https://x.test/a[1]?q=[x]").unwrap();
        assert_eq!(out, "https://x.test/a%5B1%5D?q=%5Bx%5D");
        assert_eq!(url("https://"), None);
        assert_eq!(path_uri("/dir/Docker file:1"), "dir/Docker%20file%3A1");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
