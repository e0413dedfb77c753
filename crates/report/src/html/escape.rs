//! Escaping text for HTML that is also well-formed XML.

/// `text` safe inside an element or a double-quoted attribute: `&`, `<`, `>`, `"` and `'`
/// become entities, and the control characters XML forbids (all below U+0020 except tab,
/// line feed and carriage return) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{7f}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_entities_are_escaped() {
        assert_eq!(
            escape(r#"name = "<script>alert('x')</script> & co""#),
            "name = &quot;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co&quot;"
        );
        // An entity already written stays text: its `&` is escaped again.
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape("a\tb\nc\u{1}d"), "a\tb\nc\u{fffd}d");
        assert_eq!(escape("ΔPD ± 1 €"), "ΔPD ± 1 €");
    }
}
