//! Reading a container's declared app version from its build files, as text.
//!
//! No engine, no compiler, no interpreter: the old tools started Python — and for
//! native pipelines a Dagger engine — to read one constant. Each reader here knows just
//! enough of its file's syntax to find the declaration reliably, and says why when it
//! cannot, because a version that cannot be read must never pass a check silently.
//!
//! - `Dockerfile`: `ARG CONTAINER_APP_VERSION=<v>`, in any stage, possibly quoted,
//!   possibly one of several `NAME=value` pairs on the line, with `\` continuations.
//! - `default.nix`: a `version = "<v>";` binding, found with comments skipped and
//!   strings respected; of several, the one nested least deep wins (a `meta` or
//!   dependency set's `version` is nested deeper than the package's own).
//! - `container.rs`: `pub const VERSION: &str = "<v>";`.

use std::path::Path;

use regex::Regex;

use crate::containers::{BuildKind, Container};
use crate::error::{Error, Result};

/// The Dockerfile build argument that carries the app version.
pub const DOCKERFILE_ARG: &str = "CONTAINER_APP_VERSION";

/// What a build file says about its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Declared {
    /// A literal version.
    Version(String),
    /// No version in the file; it comes from somewhere else (a nixpkgs package).
    Absent,
}

/// Reads the version declared for one build kind of a container.
pub fn declared_version(container: &Container, kind: BuildKind) -> Result<Declared> {
    let path = container.build_file(kind);
    let text = read(&path)?;
    let source = format!("{}/{}", container.rel_path(), kind.file_name());
    let found = match kind {
        BuildKind::Dockerfile => dockerfile_version_in(&text, &source)?,
        BuildKind::Nix => nix_version(&text).map_err(|e| e.context(&source))?,
        BuildKind::Native => native_version(&text),
    };
    match found {
        Some(version) => {
            crate::version::validate(&version, &source)?;
            Ok(Declared::Version(version))
        }
        None if kind == BuildKind::Nix => Ok(Declared::Absent),
        None => Err(Error::usage(format!(
            "{source} declares no version: expected {}",
            match kind {
                BuildKind::Dockerfile => "ARG CONTAINER_APP_VERSION=<version>",
                _ => "pub const VERSION: &str = \"<version>\";",
            }
        ))),
    }
}

/// Where a resolved version came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "package")]
pub enum Origin {
    /// Declared in the build file.
    BuildFile,
    /// Evaluated from this nixpkgs package.
    Nixpkgs(String),
}

/// A build kind's version, with its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub version: String,
    pub origin: Origin,
}

/// The version a build kind produces: the declared one, else (for nix) the version of
/// the nixpkgs package that `service-versions.yaml` names for the container.
pub fn resolve_version(
    container: &Container,
    kind: BuildKind,
    services: &crate::services::ServiceIndex<'_>,
) -> Result<Resolved> {
    match declared_version(container, kind)? {
        Declared::Version(version) => Ok(Resolved {
            version,
            origin: Origin::BuildFile,
        }),
        Declared::Absent => {
            let source = format!("{}/{}", container.rel_path(), kind.file_name());
            let package = services
                .for_container(&container.name)
                .and_then(|s| s.nixpkgs_package.clone())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "{source} declares no version, and {} names no nixpkgs-package for '{}'",
                        crate::services::SERVICE_FILE,
                        container.name
                    ))
                    .hint("declare `version = \"…\";` in the file, or set nixpkgs-package on its service entry")
                })?;
            let version = crate::nix::nixpkgs_version(&package, &source)?;
            Ok(Resolved {
                version,
                origin: Origin::Nixpkgs(package),
            })
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))
}

/// The `CONTAINER_APP_VERSION` default in a Dockerfile, if any.
///
/// An ARG whose quote is never closed is refused, as Docker refuses it, with the line
/// and column of the opening quote: `Dockerfile:3:27: unclosed double quote …`.
pub fn dockerfile_version(text: &str) -> Result<Option<String>> {
    dockerfile_version_in(text, BuildKind::Dockerfile.file_name())
}

/// [`dockerfile_version`], with errors naming `source` (`containers/web/Dockerfile`).
fn dockerfile_version_in(text: &str, source: &str) -> Result<Option<String>> {
    let mut found: Option<String> = None;
    for instruction in logical_lines(text) {
        let line = &instruction.text;
        let mut words = line.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        if !keyword.eq_ignore_ascii_case("ARG") {
            continue;
        }
        let start = line.len() - line.trim_start().len() + keyword.len();
        let pairs = arg_pairs(&line[start..]).map_err(|unclosed| {
            let (row, col) = instruction.position(start + unclosed.at);
            let which = if unclosed.quote == '"' {
                "double"
            } else {
                "single"
            };
            Error::usage(format!(
                "{source}:{row}:{col}: unclosed {which} quote in ARG: unexpected end of statement while looking for matching {which}-quote"
            ))
            .hint(format!("close the quote: ARG {DOCKERFILE_ARG}=\"<version>\""))
        })?;
        for (name, value) in pairs {
            if name != DOCKERFILE_ARG {
                continue;
            }
            let Some(value) = value else { continue };
            match &found {
                Some(first) if *first != value => {
                    return Err(Error::usage(format!(
                        "{source}: {DOCKERFILE_ARG} has two different defaults, '{first}' and '{value}'"
                    ))
                    .hint("declare the version once, in the first stage that needs it"));
                }
                _ => found = Some(value),
            }
        }
    }
    Ok(found)
}

/// One instruction with its `\`-continuations joined, and where each piece came from.
struct LogicalLine {
    text: String,
    /// (offset in `text`, 1-based line, 1-based column of that offset) per piece.
    pieces: Vec<(usize, usize, usize)>,
}

impl LogicalLine {
    /// The 1-based line and column in the file of a byte offset in `text`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let (start, row, col) = self
            .pieces
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= offset)
            .copied()
            .unwrap_or((0, 1, 1));
        let chars = self.text[start..offset].chars().count();
        (row, col + chars)
    }
}

/// Joins `\`-continued lines and drops comment lines, as Docker's parser does.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut lines = Vec::new();
    let mut current = LogicalLine {
        text: String::new(),
        pieces: Vec::new(),
    };
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let indent = raw[..raw.len() - raw.trim_start().len()].chars().count();
        current
            .pieces
            .push((current.text.len(), index + 1, indent + 1));
        if let Some(body) = line.strip_suffix('\\') {
            current.text.push_str(body);
            current.text.push(' ');
        } else {
            current.text.push_str(line);
            lines.push(std::mem::replace(
                &mut current,
                LogicalLine {
                    text: String::new(),
                    pieces: Vec::new(),
                },
            ));
        }
    }
    if !current.text.is_empty() {
        lines.push(current);
    }
    lines
}

/// A quote opened at byte offset `at` and never closed.
#[derive(Debug)]
struct Unclosed {
    quote: char,
    at: usize,
}

/// `NAME[=value]` pairs of an ARG instruction; values may be quoted and hold spaces, and
/// a backslash escapes the next character outside single quotes, as in Docker.
fn arg_pairs(rest: &str) -> std::result::Result<Vec<(String, Option<String>)>, Unclosed> {
    let mut pairs = Vec::new();
    let mut chars = rest.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut name = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            name.push(c);
        }
        if name.is_empty() {
            break;
        }
        let value = if chars.next_if(|(_, c)| *c == '=').is_some() {
            let mut value = String::new();
            let mut quote: Option<(char, usize)> = None;
            while let Some(&(at, c)) = chars.peek() {
                match quote {
                    Some((q, _)) if c == q => quote = None,
                    Some(('"', _)) if c == '\\' => {
                        chars.next();
                        if let Some(&(_, escaped)) = chars.peek() {
                            value.push(escaped);
                        }
                    }
                    Some(_) => value.push(c),
                    None if c == '"' || c == '\'' => quote = Some((c, at)),
                    None if c == '\\' => {
                        chars.next();
                        if let Some(&(_, escaped)) = chars.peek() {
                            value.push(escaped);
                        }
                    }
                    None if c.is_whitespace() => break,
                    None => value.push(c),
                }
                chars.next();
            }
            if let Some((quote, at)) = quote {
                return Err(Unclosed { quote, at });
            }
            Some(value)
        } else {
            None
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// The `version = "…";` binding of a nix file nested least deep, if any.
pub fn nix_version(text: &str) -> Result<Option<String>> {
    let candidates = nix_version_bindings(text)?;
    let Some(shallowest) = candidates.iter().map(|(depth, _)| *depth).min() else {
        return Ok(None);
    };
    let mut at_top: Vec<&String> = candidates
        .iter()
        .filter(|(depth, _)| *depth == shallowest)
        .map(|(_, v)| v)
        .collect();
    at_top.dedup();
    match at_top.as_slice() {
        [one] => Ok(Some((*one).clone())),
        many => Err(Error::usage(format!(
            "ambiguous: several version bindings at the same level ({})",
            many.iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint("keep one `version = \"…\";` for the package, nest the others in their own sets")),
    }
}

/// Every `version = <string>;` with its brace depth, scanning the text once with
/// comments, strings and `''` strings skipped.
fn nix_version_bindings(text: &str) -> Result<Vec<(usize, String)>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with('#') {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if rest.starts_with('"') {
            i += 1 + skip_string(&text[i + 1..]).unwrap_or(rest.len() - 1);
        } else if rest.starts_with("''") {
            i += 2 + text[i + 2..]
                .find("''")
                .map_or(text.len() - i - 2, |end| end + 2);
        } else if rest.starts_with('{') {
            depth += 1;
            i += 1;
        } else if rest.starts_with('}') {
            depth = depth.saturating_sub(1);
            i += 1;
        } else if rest.starts_with("version") && is_word_start(bytes, i) {
            let after = &rest["version".len()..];
            let trimmed = after.trim_start();
            if let Some(value) = trimmed.strip_prefix('=') {
                let value = value.trim_start();
                if let Some(body) = value.strip_prefix('"') {
                    let len = skip_string(body).ok_or_else(|| {
                        Error::usage("the string after `version =` is never closed")
                            .hint("end the version with a \" and a ;")
                    })?;
                    let literal = &body[..len - 1];
                    if literal.contains("${") {
                        return Err(Error::usage(format!(
                            "version \"{literal}\" is interpolated, so it cannot be read as text"
                        ))
                        .hint("write the version as a plain string literal"));
                    }
                    if body[len..].trim_start().starts_with(';') {
                        found.push((depth, literal.to_owned()));
                    }
                }
            }
            i += "version".len();
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    Ok(found)
}

/// Length of a `"`-string body up to and including its closing quote; `None` when the
/// text ends first.
fn skip_string(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn is_word_start(bytes: &[u8], i: usize) -> bool {
    let before_ok = i == 0 || !is_ident(bytes[i - 1]);
    let after = i + "version".len();
    let after_ok = after >= bytes.len() || !is_ident(bytes[after]);
    before_ok && after_ok
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'\'' | b'.')
}

/// `pub const VERSION: &str = "…";` in a native pipeline.
pub fn native_version(text: &str) -> Option<String> {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r#"(?m)^\s*pub\s+const\s+VERSION\s*:\s*&(?:'static\s+)?str\s*=\s*"([^"]*)"\s*;"#)
            .expect("the VERSION pattern is a valid regex")
    });
    pattern.captures(text).map(|c| c[1].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_arg_plain_quoted_and_single_quoted() {
        assert_eq!(
            dockerfile_version("FROM alpine\nARG CONTAINER_APP_VERSION=1.2.3\n").unwrap(),
            Some("1.2.3".into())
        );
        assert_eq!(
            dockerfile_version("ARG CONTAINER_APP_VERSION=\"v2.0.1\"\n").unwrap(),
            Some("v2.0.1".into())
        );
        assert_eq!(
            dockerfile_version("  arg   CONTAINER_APP_VERSION='3.4'   \n").unwrap(),
            Some("3.4".into())
        );
    }

    #[test]
    fn dockerfile_arg_among_several_on_one_line_and_continued() {
        let text = "ARG BASE=alpine:3.20 CONTAINER_APP_VERSION=4.1.1-r1 OTHER=x\n";
        assert_eq!(dockerfile_version(text).unwrap(), Some("4.1.1-r1".into()));
        let continued = "ARG BASE=alpine \\\n    CONTAINER_APP_VERSION=5.0\n";
        assert_eq!(dockerfile_version(continued).unwrap(), Some("5.0".into()));
    }

    #[test]
    fn dockerfile_arg_in_a_later_stage_and_redeclared_without_value() {
        let text = "FROM golang AS build\nARG GO=1\nFROM alpine\n# ARG CONTAINER_APP_VERSION=0.0.0\nARG CONTAINER_APP_VERSION=0.61.1\nFROM scratch\nARG CONTAINER_APP_VERSION\n";
        assert_eq!(dockerfile_version(text).unwrap(), Some("0.61.1".into()));
    }

    #[test]
    fn dockerfile_arg_with_two_different_defaults_is_an_error() {
        let text = "ARG CONTAINER_APP_VERSION=1\nFROM a\nARG CONTAINER_APP_VERSION=2\n";
        assert!(
            dockerfile_version(text)
                .unwrap_err()
                .message()
                .contains("'1' and '2'")
        );
    }

    #[test]
    fn dockerfile_arg_with_an_unclosed_quote_is_refused_with_line_and_column() {
        let text = "FROM alpine\n  ARG CONTAINER_APP_VERSION=\"2.2.6\nRUN true\n";
        let err = dockerfile_version(text).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.message(),
            "Dockerfile:2:29: unclosed double quote in ARG: unexpected end of statement \
             while looking for matching double-quote"
        );
        let single = "ARG A=1 \\\n    CONTAINER_APP_VERSION='1.0\n";
        let err = dockerfile_version(single).unwrap_err();
        assert!(
            err.message()
                .starts_with("Dockerfile:2:27: unclosed single quote"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn dockerfile_arg_quotes_close_and_backslashes_escape_as_in_docker() {
        assert_eq!(
            dockerfile_version("ARG CONTAINER_APP_VERSION=\"1.0\"\\\"x\\\"\n").unwrap(),
            Some("1.0\"x\"".into())
        );
        assert_eq!(
            dockerfile_version("ARG CONTAINER_APP_VERSION=\"1.\"'0'\n").unwrap(),
            Some("1.0".into())
        );
    }

    #[test]
    fn dockerfile_without_the_arg_has_no_version() {
        assert_eq!(
            dockerfile_version("FROM alpine\nARG OTHER=1\n").unwrap(),
            None
        );
    }

    #[test]
    fn nix_version_skips_comments_and_prefers_the_shallowest_binding() {
        let text = r#"
{ pkgs ? import <nixpkgs> { } }:
# version = "0.0.1";
/* version = "0.0.2"; */
pkgs.buildGoModule rec {
  pname = "miniflux";
  version = "2.2.6";
  src = pkgs.fetchFromGitHub { owner = "miniflux"; rev = "v${version}"; };
  passthru.dep = { version = "9.9.9"; };
  meta = { description = "version = \"1.1\";"; };
}
"#;
        assert_eq!(nix_version(text).unwrap(), Some("2.2.6".into()));
    }

    #[test]
    fn nix_let_binding_beats_nested_sets() {
        let text = "let\n  version = \"1.28.2\";\n  inner = { version = \"3\"; };\nin { tag = version; }\n";
        assert_eq!(nix_version(text).unwrap(), Some("1.28.2".into()));
    }

    #[test]
    fn nix_without_a_version_is_absent_and_other_keys_do_not_match() {
        let text = "{ pkgs }: pkgs.dockerTools.buildImage { name = \"redis\"; myversion = \"1\"; version_old = \"2\"; }";
        assert_eq!(nix_version(text).unwrap(), None);
    }

    #[test]
    fn nix_interpolated_or_ambiguous_versions_are_errors() {
        assert!(nix_version("{ version = \"${x}\"; }").is_err());
        let err = nix_version("{ a = 1; version = \"1\"; } // { version = \"2\"; }").unwrap_err();
        assert!(err.message().contains("ambiguous"), "{}", err.message());
    }

    #[test]
    fn a_version_string_the_file_never_closes_is_a_usage_error() {
        // Ends in a two-byte character: cutting its last byte once panicked.
        let err = nix_version("{ version = \"1.0é").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains("never closed"), "{}", err.message());
        // An unclosed string elsewhere only ends the scan.
        assert_eq!(
            nix_version("{ version = \"1\"; x = \"é").unwrap(),
            Some("1".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn no_reader_panics_on_a_half_edited_file(text in "[{}\"'#/*\\ a-z=;:.é${}\n]{0,40}") {
            let _ = nix_version(&text);
            let _ = nix_version(&format!("{{ version = \"{text}"));
            let _ = dockerfile_version(&format!("ARG CONTAINER_APP_VERSION={text}"));
            let _ = native_version(&format!("pub const VERSION: &str = \"{text}"));
        }
    }

    #[test]
    fn native_version_constant() {
        let text = "//! pipeline\npub const VERSION: &str = \"v0.61.1\";\npub fn build() {}\n";
        assert_eq!(native_version(text), Some("v0.61.1".into()));
        assert_eq!(native_version("const VERSION: &str = \"1\";"), None);
    }
}
