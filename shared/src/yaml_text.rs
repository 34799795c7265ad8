//! Byte-level edits of YAML text: where a scalar is written, and how to write a new one
//! in the style of the old.
//!
//! The tools that move a value in a manifest (an image pin, the docs release URL) change
//! only that value's bytes, so comments, key order, anchors and line ends stay and the
//! commit is a one-word diff. They find the value with serde-saphyr's [`Spanned`], and
//! share what follows from there: the bytes of the scalar as written, its quoting, and
//! a new scalar that reads back as exactly the new string.

use serde_saphyr::Spanned;

/// How a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    Plain,
    Single,
    Double,
}

/// The byte range of a scalar as written (quotes included), at its defining node: for
/// an alias, the anchored value it stands for.
pub fn scalar_range(value: &Spanned<String>) -> Option<(usize, usize)> {
    let span = value.defined.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some((start, start + len))
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The quoting of the scalar at `start..end` of `text` (a [`scalar_range`]); `None`
/// for a block scalar (`|`, `>`), which a one-line rewrite would restyle, or a range
/// that is not in the text. A block scalar's range holds only its content, so its
/// header is looked for before it.
pub fn quoting_at(text: &str, start: usize, end: usize) -> Option<Quoting> {
    let written = text.get(start..end)?;
    let before = text[..start].trim_end();
    let header_line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let header_line = header_line
        .split(" #")
        .next()
        .unwrap_or_default()
        .trim_end();
    let last_token = header_line
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default();
    let is_block_header = last_token.starts_with(['|', '>'])
        && last_token[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+'));
    if is_block_header {
        return None;
    }
    match written.chars().next() {
        Some('"') => Some(Quoting::Double),
        Some('\'') => Some(Quoting::Single),
        _ => Some(Quoting::Plain),
    }
}

/// `value` written as a YAML scalar in the given quoting, so that it reads back as the
/// same string in block and flow context alike. A plain scalar that would not (it would
/// read as a number, boolean or null, or holds `: `, ` #`, flow indicators, a leading
/// indicator) is single-quoted instead; a single-quoted one that cannot hold the value
/// (a line break or control character) is double-quoted with escapes.
pub fn write_scalar(value: &str, quoting: Quoting) -> String {
    let has_control = value.chars().any(char::is_control);
    match quoting {
        Quoting::Plain if plain_is_safe(value) => value.to_owned(),
        Quoting::Plain | Quoting::Single if !has_control => {
            format!("'{}'", value.replace('\'', "''"))
        }
        _ => double_quoted(value),
    }
}

/// `value` plain where that reads back as the same string, else single-quoted.
pub fn plain_or_quoted(value: &str) -> String {
    write_scalar(value, Quoting::Plain)
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `value` written plain reads back as this string (YAML 1.2 core schema, and
/// the 1.1 booleans some readers still take), in block or flow context.
fn plain_is_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let lower = value.to_ascii_lowercase();
    let reads_as_other_type = matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) || !value.chars().any(|c| c.is_ascii_alphabetic())
        || value.parse::<f64>().is_ok()
        || [".inf", "-.inf", "+.inf", ".nan"].contains(&lower.as_str())
        || ["0x", "0o", "0b"].iter().any(|p| lower.starts_with(p));
    let indicator_first = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let breaks_plain = value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.contains(['[', ']', '{', '}', ','])
        || value.chars().any(char::is_control)
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    !(reads_as_other_type || indicator_first || breaks_plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of writing a value must read back as that value, in a block mapping
    /// and inside a flow mapping.
    #[test]
    fn written_scalars_read_back_as_the_same_string() {
        let values = [
            "https://forge.example/a/b/docs-v1.2.3.tar.gz",
            "https://x.example/a?b=1&c=2#frag",
            "it's",
            "say \"hi\" \\ bye",
            "a: b",
            "a #b",
            "a,b[c]{d}",
            "-x",
            "1.20",
            "yes",
            "null",
            "0x1f",
            " padded ",
            "two\nlines\tand\u{7}bell",
            "",
        ];
        for value in values {
            for quoting in [Quoting::Plain, Quoting::Single, Quoting::Double] {
                let written = write_scalar(value, quoting);
                let block: std::collections::BTreeMap<String, String> =
                    serde_saphyr::from_str(&format!("k: {written}\n")).unwrap();
                assert_eq!(block["k"], value, "{quoting:?} {written}");
                let flow: std::collections::BTreeMap<String, String> =
                    serde_saphyr::from_str(&format!("{{k: {written}, o: 1}}\n")).unwrap();
                assert_eq!(flow["k"], value, "{quoting:?} {written}");
            }
        }
    }

    #[test]
    fn the_quoting_asked_for_is_kept_when_it_can_hold_the_value() {
        let url = "https://forge.example/docs.tar.gz";
        assert_eq!(write_scalar(url, Quoting::Plain), url);
        assert_eq!(write_scalar(url, Quoting::Single), format!("'{url}'"));
        assert_eq!(write_scalar(url, Quoting::Double), format!("\"{url}\""));
        assert_eq!(write_scalar("1.20", Quoting::Plain), "'1.20'");
        assert_eq!(write_scalar("a\nb", Quoting::Single), "\"a\\nb\"");
    }

    #[test]
    fn block_scalars_have_no_one_line_quoting() {
        let at = |text: &str, written: &str| {
            let start = text.rfind(written).unwrap();
            quoting_at(text, start, start + written.len())
        };
        assert_eq!(at("v: |\n  x\n", "x\n"), None);
        assert_eq!(at("v: >2- # folded\n  x\n", "x\n"), None);
        assert_eq!(at("v: 'x'\n", "'x'"), Some(Quoting::Single));
        assert_eq!(at("v: \"x\"\n", "\"x\""), Some(Quoting::Double));
        assert_eq!(at("v: a|b\n", "a|b"), Some(Quoting::Plain));
        assert_eq!(at("- |\n  x\n", "x\n"), None);
    }
}
