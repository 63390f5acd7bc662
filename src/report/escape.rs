//! Escaping untrusted finding text (titles, descriptions, package names come from package
//! metadata) for each output. JSON, SARIF, JUnit and GitLab escape through their serialisers;
//! the console and Markdown need the rules here.

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

/// A reference URL fit to be a link: http(s) only, and every character RFC 3986 does not
/// allow percent-encoded, so hostile metadata cannot break out of an attribute or a link.
pub fn url(text: &str) -> Option<String> {
    let text = text.trim();
    let scheme = |s: &str| {
        text.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    };
    if !(scheme("https://") || scheme("http://")) || text.len() <= "https://".len() {
        return None;
    }
    // `'` and `()` are legal in a URI but close Markdown links and HTML attributes.
    let kept = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&*+,;=%".contains(&b);
    if text.bytes().all(kept) {
        return Some(text.to_string());
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() && kept(c as u8) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Some(out)
}

/// Shortens text for a one-line display, on a character boundary.
pub fn truncate(text: &str, max_chars: usize) -> String {
    truncated(text, max_chars).into_owned()
}

/// [`truncate`] without a copy when the text already fits.
pub fn truncated(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
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
    fn truncation_respects_characters() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
