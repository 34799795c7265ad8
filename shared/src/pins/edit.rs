//! Setting an image pin in a manifest, changing only the tag's bytes.
//!
//! A pin is moved by rewriting the bytes of its tag and nothing else: comments, key
//! order, quoting style, anchors, CRLF line ends and the trailing newline all stay as
//! they were, so the commit that follows is a one-word diff a reviewer can trust.
//!
//! # What is changed
//!
//! Exactly what [`read_pins`](super::read_pins) reads as a pin of the repository, in
//! the same file:
//! - in a kustomization (`kustomization.*`), each `images:` entry whose `newName` (else
//!   `name`) is `host/repository`: its `newTag` value. Quoted values stay quoted in the
//!   same quotes; a plain value stays plain unless the new tag would read as a number,
//!   boolean or null (`1.20`, `yes`), and is then single-quoted. A `newTag` given by an
//!   alias is changed at its anchor (the validation below refuses the edit if that
//!   moves another image's pin). An entry with no `newTag` and no `digest` gets one: a
//!   `newTag:` line right after its `newName` (else `name`) line, at the same
//!   indentation, with that line's line end; in a flow mapping (`{name: …}`) it is
//!   refused instead.
//! - in every file, each `host/repository:tag` reference outside a whole-line comment
//!   (an `image:` field, an env value, `k8s:docker://…`): its tag. A reference in a
//!   trailing comment counts, as it does for `container-pin-check`. The deployment's
//!   sentinel tag (`:kustomized`) and a reference without a tag are not pins and stay.
//!
//! Every match in the file changes (several documents, containers, env entries).
//!
//! # What is refused
//!
//! - no match: exit 4, naming the file and what was looked for;
//! - a pin by digest (`@sha256:…`, `digest:`, `newTag: tag@sha256:…`): exit 2. Setting a
//!   tag beside a digest would leave the digest in charge (the old image keeps
//!   running), and dropping it silently would weaken the pin; the digest pin is left
//!   for a person to move. Nothing in the file changes, even if other matches are tags;
//! - a new tag outside the registry's tag grammar, or the sentinel: exit 2;
//! - a file that is not valid YAML to begin with: exit 2.
//!
//! # Validation
//!
//! The edited text is parsed again before it is returned: it must be valid YAML (every
//! document), and reading its pins with the same logic as `read_pins` must give the
//! new tag for every pin of the repository and exactly the same pins of every other
//! image as before. Otherwise the edit is an error (exit 1) and nothing is written.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::{Pin, SENTINEL_TAGS, kustomization_pins, reference_pattern, text_pins};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::yaml_text::{line_of, plain_or_quoted, scalar_range};

/// How a file's pins are written, as `read_pins` decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `kustomization.yaml`: `images:` entries, and plain references.
    Kustomization,
    /// Any other manifest: plain references only.
    Manifest,
}

impl FileKind {
    /// A file named `kustomization.*` is a kustomization; anything else a manifest.
    pub fn of(path: &Path) -> FileKind {
        let is_kustomization = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("kustomization."));
        if is_kustomization {
            FileKind::Kustomization
        } else {
            FileKind::Manifest
        }
    }
}

/// The pin to set: which image of which registry, and the tag it should have.
#[derive(Clone, Copy, Debug)]
pub struct PinTarget<'a> {
    /// `registry.example:5000`, as in the references.
    pub registry_host: &'a str,
    /// The repository path without the host: `opskit/navidrome`.
    pub repository: &'a str,
    pub new_tag: &'a str,
}

impl PinTarget<'_> {
    fn image(&self) -> String {
        format!("{}/{}", self.registry_host, self.repository)
    }
}

/// One pin the edit moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// 1-based line of the tag in the edited text.
    pub line: usize,
    /// The tag before; `None` where a `newTag` line was added.
    pub old_tag: Option<String>,
    pub new_tag: String,
}

/// The result of [`set_pin`]: the whole new text and what changed in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub text: String,
    /// Every pin of the repository in the file, in file order, including those that
    /// already had the new tag.
    pub changes: Vec<Change>,
}

impl Edit {
    /// Whether the text differs from the original (false when every pin already has
    /// the new tag).
    pub fn changed(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.old_tag.as_deref() != Some(c.new_tag.as_str()))
    }
}

/// Sets every pin of `target.repository` in `text` (the contents of `file`, named in
/// errors) to `target.new_tag`, keeping every other byte. See the module docs for what
/// is changed, refused and checked.
pub fn set_pin(file: &str, text: &str, kind: FileKind, target: &PinTarget<'_>) -> Result<Edit> {
    check_tag(target.new_tag)?;
    serde_saphyr::from_multiple::<IgnoredAny>(text).map_err(|e| {
        Error::usage(format!(
            "{file}: not valid YAML, so its pin is not edited: {e}"
        ))
        .hint("fix the file first; the pin edit only touches files that parse")
    })?;
    let mut splices = Vec::new();
    if kind == FileKind::Kustomization {
        splices.extend(kustomization_splices(file, text, target)?);
    }
    splices.extend(reference_splices(file, text, target)?);
    if splices.is_empty() {
        let looked_for = match kind {
            FileKind::Kustomization => format!(
                "an images: entry named {0} or a {0}:TAG reference",
                target.image()
            ),
            FileKind::Manifest => format!("a {}:TAG reference", target.image()),
        };
        return Err(Error::not_found(format!(
            "{file}: no pin of {} to set (looked for {looked_for}; sentinel tags and \
             whole-line comments do not count)",
            target.image()
        )));
    }
    splices.sort_by_key(|s| (s.start, s.end));
    splices.dedup_by(|b, a| a.start == b.start && a.end == b.end);
    if let Some(pair) = splices.windows(2).find(|w| w[1].start < w[0].end) {
        return Err(Error::usage(format!(
            "{file}:{}: two pins of {} overlap (a reference inside a newTag value?), so the \
             file is left as it is",
            line_of(text, pair[1].start),
            target.image()
        ))
        .hint("set this pin by hand"));
    }
    let edit = apply(text, &splices, target.new_tag);
    validate(file, text, &edit.text, kind, target)?;
    Ok(edit)
}

/// Reads `path`, sets the pin with [`set_pin`] and, if the text changed, writes it back
/// atomically ([`fsutil::write_atomically`]). On any error the file is untouched.
/// `file` is how errors name it (the path relative to the repository root).
pub fn set_pin_in_file(path: &Path, file: &str, target: &PinTarget<'_>) -> Result<Edit> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {file}: {e}")))?;
    let edit = set_pin(file, &text, FileKind::of(path), target)?;
    if edit.changed() {
        fsutil::write_atomically(path, edit.text.as_bytes())?;
    }
    Ok(edit)
}

fn check_tag(tag: &str) -> Result<()> {
    let mut chars = tag.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && tag.len() <= 128;
    if !valid {
        return Err(Error::usage(format!(
            "'{tag}' is not a valid image tag (letters, digits, '_', '.', '-'; at most 128; \
             not starting with '.' or '-')"
        )));
    }
    if SENTINEL_TAGS.contains(&tag) {
        return Err(Error::usage(format!(
            "'{tag}' is the placeholder tag kustomize replaces, not a pin"
        )));
    }
    Ok(())
}

/// Bytes `start..end` of the original become `replacement`.
#[derive(Debug)]
struct Splice {
    start: usize,
    end: usize,
    replacement: String,
    old_tag: Option<String>,
}

fn apply(text: &str, splices: &[Splice], new_tag: &str) -> Edit {
    let mut out = String::with_capacity(text.len() + 64);
    let mut changes = Vec::new();
    let mut at = 0;
    for splice in splices {
        out.push_str(&text[at..splice.start]);
        let tag_offset = out.len() + splice.replacement.find("newTag:").unwrap_or(0);
        out.push_str(&splice.replacement);
        at = splice.end;
        changes.push(tag_offset);
    }
    out.push_str(&text[at..]);
    let changes = splices
        .iter()
        .zip(changes)
        .map(|(splice, offset)| Change {
            line: line_of(&out, offset),
            old_tag: splice.old_tag.clone(),
            new_tag: new_tag.to_owned(),
        })
        .collect();
    Edit { text: out, changes }
}

fn digest_refusal(file: &str, line: usize, image: &str, what: &str) -> Error {
    Error::usage(format!(
        "{file}:{line}: {image} is pinned by digest ({what}); setting a tag would leave the \
         digest in charge or drop it, so the file is left as it is"
    ))
    .hint("move a digest pin by hand, to the new image's digest (container-list shows it)")
}

#[derive(Deserialize)]
struct SpannedKustomization {
    #[serde(default)]
    images: Vec<SpannedImage>,
}

#[derive(Deserialize)]
struct SpannedImage {
    name: Spanned<String>,
    #[serde(default, rename = "newName")]
    new_name: Option<Spanned<String>>,
    #[serde(default, rename = "newTag")]
    new_tag: Option<Spanned<String>>,
    #[serde(default)]
    digest: Option<Spanned<String>>,
}

fn kustomization_splices(file: &str, text: &str, target: &PinTarget<'_>) -> Result<Vec<Splice>> {
    let parsed: SpannedKustomization = serde_saphyr::from_str(text).map_err(|e| {
        Error::usage(format!("{file}: not a valid kustomization: {e}"))
            .hint("fix the YAML; `kubectl kustomize` shows the same problem")
    })?;
    let image = target.image();
    let mut splices = Vec::new();
    for entry in parsed.images {
        let name = entry.new_name.as_ref().unwrap_or(&entry.name);
        if name.value != image {
            continue;
        }
        let name_line = location_line(name);
        if entry.digest.is_some() {
            return Err(digest_refusal(file, name_line, &image, "digest:"));
        }
        match &entry.new_tag {
            Some(tag) if tag.value.contains('@') => {
                return Err(digest_refusal(
                    file,
                    name_line,
                    &image,
                    "newTag: tag@digest",
                ));
            }
            Some(tag) => splices.push(scalar_splice(file, text, tag, target.new_tag)?),
            None => splices.push(added_tag(file, text, name, target.new_tag)?),
        }
    }
    Ok(splices)
}

fn location_line(value: &Spanned<String>) -> usize {
    usize::try_from(value.referenced.line()).unwrap_or(0)
}

/// Replaces a `newTag` scalar's text, keeping its quotes.
fn scalar_splice(file: &str, text: &str, value: &Spanned<String>, new_tag: &str) -> Result<Splice> {
    let line = usize::try_from(value.defined.line()).unwrap_or(0);
    let refuse = || {
        Error::usage(format!(
            "{file}:{line}: newTag is written in a form this edit does not rewrite (escapes, \
             a block or multi-line scalar)"
        ))
        .hint("write it as a plain or quoted one-line value, or edit it by hand")
    };
    let (start, end) = scalar_range(value).ok_or_else(refuse)?;
    let written = text.get(start..end).ok_or_else(refuse)?;
    let quote = written.chars().next().filter(|c| matches!(c, '\'' | '"'));
    let (start, end, replacement) = match quote {
        Some(q) if written.len() >= 2 && written.ends_with(q) => {
            (start + 1, end - 1, new_tag.to_owned())
        }
        Some(_) => return Err(refuse()),
        None => (start, end, plain_or_quoted(new_tag)),
    };
    if text[start..end] != value.value {
        return Err(refuse());
    }
    Ok(Splice {
        start,
        end,
        replacement,
        old_tag: Some(value.value.clone()),
    })
}

/// A `newTag:` line after the entry's name line, at the name key's indentation.
fn added_tag(file: &str, text: &str, name: &Spanned<String>, new_tag: &str) -> Result<Splice> {
    let line_no = location_line(name);
    let refuse = || {
        Error::usage(format!(
            "{file}:{line_no}: the images: entry has no newTag, and is not written as a block \
             mapping with its name on one line, so one cannot be added"
        ))
        .hint("add `newTag:` to the entry by hand")
    };
    let (value_start, _) = scalar_range(name).ok_or_else(refuse)?;
    let line_start = text[..value_start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[value_start..]
        .find('\n')
        .map_or(text.len(), |i| value_start + i + 1);
    let line = &text[line_start..line_end];
    let body = line.trim_start_matches([' ', '-']);
    if !(body.starts_with("name:") || body.starts_with("newName:")) || line.contains('{') {
        return Err(refuse());
    }
    let indent = line.len() - body.len();
    let ending = if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let new_line = format!("{}newTag: {}", " ".repeat(indent), plain_or_quoted(new_tag));
    let replacement = if line.ends_with('\n') {
        format!("{new_line}{ending}")
    } else {
        format!("{ending}{new_line}")
    };
    Ok(Splice {
        start: line_end,
        end: line_end,
        replacement,
        old_tag: None,
    })
}

/// Every `host/repository:tag` reference outside whole-line comments, as `read_pins`
/// finds them.
fn reference_splices(file: &str, text: &str, target: &PinTarget<'_>) -> Result<Vec<Splice>> {
    let pattern = reference_pattern(target.registry_host);
    let mut splices = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        if raw.trim_start().starts_with('#') {
            continue;
        }
        for caps in pattern.captures_iter(raw) {
            if &caps[1] != target.repository {
                continue;
            }
            if caps.get(3).is_some() {
                return Err(digest_refusal(
                    file,
                    index + 1,
                    &target.image(),
                    "@sha256:…",
                ));
            }
            let Some(tag) = caps.get(2) else { continue };
            if SENTINEL_TAGS.contains(&tag.as_str()) {
                continue;
            }
            splices.push(Splice {
                start: line_start + tag.start(),
                end: line_start + tag.end(),
                replacement: target.new_tag.to_owned(),
                old_tag: Some(tag.as_str().to_owned()),
            });
        }
    }
    Ok(splices)
}

/// The pins of one file, as `read_pins` reads them.
fn pins_of(file: &str, text: &str, kind: FileKind, host: &str) -> Result<BTreeSet<Pin>> {
    let mut pins = BTreeSet::new();
    if kind == FileKind::Kustomization {
        pins.extend(kustomization_pins(text, file, host)?);
    }
    pins.extend(text_pins(text, file, &reference_pattern(host)));
    Ok(pins)
}

fn validate(
    file: &str,
    before: &str,
    after: &str,
    kind: FileKind,
    target: &PinTarget<'_>,
) -> Result<()> {
    let broken = |why: String| {
        Error::failed(format!(
            "{file}: the pin edit was not applied, because {why}"
        ))
        .hint("this is a bug in the pin edit; set the pin by hand and report the file")
    };
    serde_saphyr::from_multiple::<IgnoredAny>(after)
        .map_err(|e| broken(format!("the edited text is not valid YAML: {e}")))?;
    let before = pins_of(file, before, kind, target.registry_host)?;
    let after = pins_of(file, after, kind, target.registry_host)
        .map_err(|e| broken(format!("the edited text cannot be read: {}", e.message())))?;
    let others = |pins: &BTreeSet<Pin>| -> Vec<String> {
        let mut others: Vec<String> = pins
            .iter()
            .filter(|p| p.repository != target.repository)
            .map(Pin::display)
            .collect();
        others.sort();
        others
    };
    if others(&before) != others(&after) {
        return Err(broken(format!(
            "it would change the pins of other images ({:?} before, {:?} after)",
            others(&before),
            others(&after)
        )));
    }
    let mine: Vec<&Pin> = after
        .iter()
        .filter(|p| p.repository == target.repository)
        .collect();
    if mine.is_empty() {
        return Err(broken(format!(
            "the edited text has no pin of {}",
            target.image()
        )));
    }
    if let Some(wrong) = mine
        .iter()
        .find(|p| p.tag.as_deref() != Some(target.new_tag) || p.digest.is_some())
    {
        return Err(broken(format!(
            "line {} would still pin {}",
            wrong.line,
            wrong.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "reg.example:5000";
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn target<'a>(repository: &'a str, new_tag: &'a str) -> PinTarget<'a> {
        PinTarget {
            registry_host: HOST,
            repository,
            new_tag,
        }
    }

    fn kustomize(text: &str) -> String {
        set_pin(
            "argocd/app/kustomization.yaml",
            text,
            FileKind::Kustomization,
            &target("opskit/app", "v2.0.0-bbbbbbb"),
        )
        .unwrap()
        .text
    }

    fn manifest(text: &str) -> Result<Edit> {
        set_pin(
            "argocd/app/deployment.yaml",
            text,
            FileKind::Manifest,
            &target("opskit/app", "v2.0.0-bbbbbbb"),
        )
    }

    #[test]
    fn the_file_kind_follows_the_name_as_read_pins_does() {
        assert_eq!(
            FileKind::of(Path::new("argocd/x/kustomization.yml")),
            FileKind::Kustomization
        );
        assert_eq!(
            FileKind::of(Path::new("argocd/x/deployment.yaml")),
            FileKind::Manifest
        );
    }

    #[test]
    fn new_tag_with_a_comment_on_the_same_line_keeps_the_comment() {
        let edited = kustomize(
            "# pins\nimages:\n  - name: reg.example:5000/opskit/app # ours\n    newTag: v1.0.0-aaaaaaa # bumped by CI\n",
        );
        insta::assert_snapshot!(edited, @r"
        # pins
        images:
          - name: reg.example:5000/opskit/app # ours
            newTag: v2.0.0-bbbbbbb # bumped by CI
        ");
    }

    #[test]
    fn quoted_tags_keep_their_quotes() {
        let edited = kustomize(
            "images:\n- name: reg.example:5000/opskit/app\n  newTag: 'v1'\n- name: x\n  newName: reg.example:5000/opskit/app\n  newTag: \"v1\"\n",
        );
        insta::assert_snapshot!(edited, @r#"
        images:
        - name: reg.example:5000/opskit/app
          newTag: 'v2.0.0-bbbbbbb'
        - name: x
          newName: reg.example:5000/opskit/app
          newTag: "v2.0.0-bbbbbbb"
        "#);
    }

    #[test]
    fn crlf_line_ends_and_a_missing_final_newline_stay() {
        let text = "images:\r\n  - name: reg.example:5000/opskit/app\r\n    newTag: v1\r\nresources:\r\n  - deployment.yaml";
        let edited = kustomize(text);
        assert_eq!(edited, text.replace("newTag: v1", "newTag: v2.0.0-bbbbbbb"));
    }

    #[test]
    fn name_and_new_name_the_effective_name_is_new_name() {
        // `name` is what the deployment says; `newName` is the image that runs.
        let edited = kustomize(
            "images:\n  - name: reg.example:5000/opskit/app\n    newName: upstream.example/app\n    newTag: '7'\n  - name: app\n    newName: reg.example:5000/opskit/app\n    newTag: v1\n",
        );
        insta::assert_snapshot!(edited, @r"
        images:
          - name: reg.example:5000/opskit/app
            newName: upstream.example/app
            newTag: '7'
          - name: app
            newName: reg.example:5000/opskit/app
            newTag: v2.0.0-bbbbbbb
        ");
    }

    #[test]
    fn an_entry_without_new_tag_gets_one_after_its_name_at_the_same_indentation() {
        let edited = kustomize(
            "images:\r\n  - name: reg.example:5000/opskit/app\r\n    # no tag yet\r\nresources: []\r\n",
        );
        assert_eq!(
            edited,
            "images:\r\n  - name: reg.example:5000/opskit/app\r\n    newTag: v2.0.0-bbbbbbb\r\n    # no tag yet\r\nresources: []\r\n"
        );
    }

    #[test]
    fn a_tag_that_would_read_as_a_number_is_quoted_when_plain() {
        let edit = set_pin(
            "kustomization.yaml",
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: v1\n",
            FileKind::Kustomization,
            &target("opskit/app", "1.20"),
        )
        .unwrap();
        assert_eq!(
            edit.text,
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: '1.20'\n"
        );
    }

    #[test]
    fn a_plain_numeric_tag_is_replaced_in_place() {
        let edited = kustomize(
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: 7\n  - name: reg.example:5000/opskit/app\n    newTag: 1.20\n",
        );
        assert_eq!(
            edited,
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: v2.0.0-bbbbbbb\n  - name: reg.example:5000/opskit/app\n    newTag: v2.0.0-bbbbbbb\n"
        );
    }

    #[test]
    fn an_anchored_tag_is_changed_at_its_anchor_and_the_alias_follows() {
        let edited = kustomize(
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: &tag v1\n  - name: app-nix\n    newName: reg.example:5000/opskit/app\n    newTag: *tag\n",
        );
        insta::assert_snapshot!(edited, @r"
        images:
          - name: reg.example:5000/opskit/app
            newTag: &tag v2.0.0-bbbbbbb
          - name: app-nix
            newName: reg.example:5000/opskit/app
            newTag: *tag
        ");
    }

    #[test]
    fn an_anchor_shared_with_another_image_is_refused_by_the_validation() {
        let text = "images:\n  - name: reg.example:5000/opskit/app\n    newTag: &tag v1\n  - name: reg.example:5000/opskit/other\n    newTag: *tag\n";
        let err = set_pin(
            "kustomization.yaml",
            text,
            FileKind::Kustomization,
            &target("opskit/app", "v2"),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.message().contains("other images"), "{}", err.message());
    }

    #[test]
    fn several_documents_containers_and_env_entries_all_change_and_nothing_else() {
        let text = "\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          image: reg.example:5000/opskit/app:v1.0.0-aaaaaaa  # main
          env:
            - name: RUNNER_IMAGE
              value: \"k8s:docker://reg.example:5000/opskit/app:v1.0.0-aaaaaaa\"
            - name: SIDE
              value: reg.example:5000/opskit/app-sidecar:v1.0.0-aaaaaaa
        - name: init
          image: 'reg.example:5000/opskit/app:v0.9'
        - name: redis
          image: docker.io/library/redis:7
        - name: mirror
          image: other.example/opskit/app:v1.0.0-aaaaaaa
# image: reg.example:5000/opskit/app:v0.1 (history)
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - image: reg.example:5000/opskit/app:kustomized
            - image: reg.example:5000/opskit/app:v1.0.0-aaaaaaa
";
        let edit = manifest(text).unwrap();
        insta::assert_snapshot!(edit.text, @r#"
        apiVersion: apps/v1
        kind: Deployment
        spec:
          template:
            spec:
              containers:
                - name: app
                  image: reg.example:5000/opskit/app:v2.0.0-bbbbbbb  # main
                  env:
                    - name: RUNNER_IMAGE
                      value: "k8s:docker://reg.example:5000/opskit/app:v2.0.0-bbbbbbb"
                    - name: SIDE
                      value: reg.example:5000/opskit/app-sidecar:v1.0.0-aaaaaaa
                - name: init
                  image: 'reg.example:5000/opskit/app:v2.0.0-bbbbbbb'
                - name: redis
                  image: docker.io/library/redis:7
                - name: mirror
                  image: other.example/opskit/app:v1.0.0-aaaaaaa
        # image: reg.example:5000/opskit/app:v0.1 (history)
        ---
        apiVersion: batch/v1
        kind: CronJob
        spec:
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                    - image: reg.example:5000/opskit/app:kustomized
                    - image: reg.example:5000/opskit/app:v2.0.0-bbbbbbb
        "#);
        let changes: Vec<(usize, Option<&str>)> = edit
            .changes
            .iter()
            .map(|c| (c.line, c.old_tag.as_deref()))
            .collect();
        assert_eq!(
            changes,
            [
                (8, Some("v1.0.0-aaaaaaa")),
                (11, Some("v1.0.0-aaaaaaa")),
                (15, Some("v0.9")),
                (31, Some("v1.0.0-aaaaaaa")),
            ]
        );
        assert!(edit.changed());
    }

    #[test]
    fn document_markers_and_an_empty_document_are_kept() {
        let edit = manifest("---\n# empty\n---\nimage: reg.example:5000/opskit/app:v1\n...\n---\n")
            .unwrap();
        assert_eq!(
            edit.text,
            "---\n# empty\n---\nimage: reg.example:5000/opskit/app:v2.0.0-bbbbbbb\n...\n---\n"
        );
    }

    #[test]
    fn an_anchored_image_reference_is_changed_once_at_its_anchor() {
        let edit = manifest(
            "containers:\n  - image: &img reg.example:5000/opskit/app:v1\n  - image: *img\n",
        )
        .unwrap();
        assert_eq!(
            edit.text,
            "containers:\n  - image: &img reg.example:5000/opskit/app:v2.0.0-bbbbbbb\n  - image: *img\n"
        );
    }

    #[test]
    fn setting_the_tag_it_already_has_changes_nothing() {
        let text = "image: reg.example:5000/opskit/app:v2.0.0-bbbbbbb\n";
        let edit = manifest(text).unwrap();
        assert_eq!(edit.text, text);
        assert!(!edit.changed());
        assert_eq!(edit.changes.len(), 1);
    }

    #[test]
    fn no_pin_is_not_found_naming_the_file_and_the_image() {
        let err = manifest(
            "image: reg.example:5000/opskit/app:kustomized\nother: reg.example:5000/opskit/apps:v1\n# image: reg.example:5000/opskit/app:v1\n",
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 4);
        insta::assert_snapshot!(err.message(), @"argocd/app/deployment.yaml: no pin of reg.example:5000/opskit/app to set (looked for a reg.example:5000/opskit/app:TAG reference; sentinel tags and whole-line comments do not count)");
    }

    #[test]
    fn a_digest_pin_is_refused_and_nothing_changes() {
        for text in [
            format!("a: reg.example:5000/opskit/app:v1\nb: reg.example:5000/opskit/app@{DIGEST}\n"),
            format!("image: reg.example:5000/opskit/app:v1@{DIGEST}\n"),
        ] {
            let err = manifest(&text).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{text}");
            assert!(
                err.message().contains("pinned by digest"),
                "{}",
                err.message()
            );
        }
        for text in [
            format!("images:\n  - name: reg.example:5000/opskit/app\n    digest: {DIGEST}\n"),
            format!("images:\n  - name: reg.example:5000/opskit/app\n    newTag: v1@{DIGEST}\n"),
        ] {
            let err = set_pin(
                "kustomization.yaml",
                &text,
                FileKind::Kustomization,
                &target("opskit/app", "v2"),
            )
            .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{text}");
            assert!(
                err.message().starts_with("kustomization.yaml:2: "),
                "{}",
                err.message()
            );
        }
    }

    #[test]
    fn upstream_images_of_other_registries_are_left_alone() {
        let text = "images:\n  - name: docker.io/opskit/app\n    newTag: v1\n  - name: reg.example:5000/opskit/app\n    newTag: v1\n  - name: ghcr.io/x/reg.example:5000/opskit/app\n    newTag: v1\n";
        let edited = kustomize(text);
        insta::assert_snapshot!(edited, @r"
        images:
          - name: docker.io/opskit/app
            newTag: v1
          - name: reg.example:5000/opskit/app
            newTag: v2.0.0-bbbbbbb
          - name: ghcr.io/x/reg.example:5000/opskit/app
            newTag: v1
        ");
    }

    #[test]
    fn bad_tags_and_broken_yaml_are_usage_errors() {
        for tag in ["", "-v1", "v1:2", "kustomized", &"x".repeat(129)] {
            let err = manifest_with_tag(tag).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{tag}");
        }
        let err = manifest("a: [\nimage: reg.example:5000/opskit/app:v1\n").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message().contains("not valid YAML"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn a_reference_in_a_trailing_comment_counts_as_it_does_for_the_pin_check() {
        let edit = manifest(
            "image: reg.example:5000/opskit/app:v1 # was reg.example:5000/opskit/app:v0\n",
        )
        .unwrap();
        assert_eq!(
            edit.text,
            "image: reg.example:5000/opskit/app:v2.0.0-bbbbbbb # was reg.example:5000/opskit/app:v2.0.0-bbbbbbb\n"
        );
    }

    #[test]
    fn a_flow_entry_without_new_tag_is_refused_rather_than_restyled() {
        let err = set_pin(
            "kustomization.yaml",
            "images: [{name: reg.example:5000/opskit/app}]\n",
            FileKind::Kustomization,
            &target("opskit/app", "v2"),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains("has no newTag"), "{}", err.message());
    }

    #[test]
    fn a_reference_inside_a_new_tag_value_is_refused_not_spliced_twice() {
        let err = set_pin(
            "kustomization.yaml",
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: reg.example:5000/opskit/app:v1\n",
            FileKind::Kustomization,
            &target("opskit/app", "v2"),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2, "{}", err.message());
        assert!(err.message().contains("overlap"), "{}", err.message());
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(64))]

        /// Whatever the quoting, comments, line ends and neighbours, the edited text is
        /// the same template with the new tag where the old one was, and nothing else.
        #[test]
        fn only_the_tag_bytes_change(
            old in "v[0-9a-z._-]{0,20}",
            new in "v[0-9a-z._-]{0,20}",
            quote in proptest::sample::select(vec!["", "'", "\""]),
            crlf in proptest::bool::ANY,
            comment in proptest::option::of("[ a-z:/.#]{0,20}"),
            other_first in proptest::bool::ANY,
            final_newline in proptest::bool::ANY,
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let comment = comment.map(|c| format!(" #{c}")).unwrap_or_default();
            let render = |tag: &str| {
                let ours = format!(
                    "  - name: reg.example:5000/opskit/app{comment}{nl}    newTag: {quote}{tag}{quote}{comment}{nl}"
                );
                let other = format!(
                    "  - name: reg.example:5000/opskit/other{nl}    newTag: {quote}{old}{quote}{nl}  - name: docker.io/opskit/app{nl}    newTag: {old}{nl}"
                );
                let (a, b) = if other_first { (other, ours) } else { (ours, other) };
                let text = format!(
                    "# kustomization{nl}images:{nl}{a}{b}resources:{nl}  - deployment.yaml{nl}"
                );
                if final_newline { text } else { text.trim_end().to_owned() }
            };
            let edit = set_pin(
                "kustomization.yaml",
                &render(&old),
                FileKind::Kustomization,
                &target("opskit/app", &new),
            )
            .unwrap();
            proptest::prop_assert_eq!(edit.text, render(&new));
        }
    }

    fn manifest_with_tag(tag: &str) -> Result<Edit> {
        set_pin(
            "deployment.yaml",
            "image: reg.example:5000/opskit/app:v1\n",
            FileKind::Manifest,
            &target("opskit/app", tag),
        )
    }

    #[test]
    fn set_pin_in_file_writes_the_edit_and_leaves_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.yaml");
        std::fs::write(&path, "image: reg.example:5000/opskit/app:v1 # pin\r\n").unwrap();
        let edit = set_pin_in_file(&path, "deployment.yaml", &target("opskit/app", "v2")).unwrap();
        assert!(edit.changed());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "image: reg.example:5000/opskit/app:v2 # pin\r\n"
        );
        let err =
            set_pin_in_file(&path, "deployment.yaml", &target("opskit/nope", "v3")).unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "image: reg.example:5000/opskit/app:v2 # pin\r\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
