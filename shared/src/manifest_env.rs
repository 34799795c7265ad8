//! Setting one container env var's value in a Kubernetes manifest, changing only that
//! value's bytes (`release-docs deploy` pointing `DOCS_RELEASE_URL` at a new tarball).
//!
//! Why bytes and not a YAML round trip: the manifest is reviewed in git, and a
//! serializer would drop comments, reorder keys and restyle quoting. Only the value's
//! scalar is rewritten, in its own quoting (plain, single or double quoted, with the
//! escapes that quoting needs; a plain value that would not read back as the URL is
//! single-quoted), so comments, order, anchors elsewhere, CRLF line ends and the final
//! newline stay as they were.
//!
//! # Where an env var is looked for
//!
//! In every document, in `env:` of each container, init container and ephemeral
//! container of the pod spec, wherever the workload keeps it: `spec` (a Pod),
//! `spec.template.spec` (Deployment, StatefulSet, DaemonSet, Job) or
//! `spec.jobTemplate.spec.template.spec` (CronJob).
//!
//! # What is refused (nothing is changed)
//!
//! - no entry of that name: exit 4, naming the file;
//! - more than one (in one container or several): exit 2, naming their lines, because
//!   which one the pod reads is not the tool's guess to make;
//! - an entry set by `valueFrom`, or without a `value`, or a block scalar (`|`): exit 2;
//! - a file that is not valid YAML, or not a manifest of the shape above: exit 2.
//!
//! # Validation
//!
//! The edited text is parsed again: it must be valid YAML, and as data it must equal
//! the original with that one value replaced, every other document, key and value the
//! same. A value given by an anchor that is also used elsewhere fails this (the edit
//! would change the other use too) and is refused, exit 1.

use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use crate::error::{Error, Result};
use crate::fsutil;
use crate::yaml_text::{line_of, quoting_at, scalar_range, write_scalar};

/// What [`set_env_value`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEdit {
    /// The whole new text (the original when nothing changed).
    pub text: String,
    /// The 1-based line of the value in the new text.
    pub line: usize,
    pub old_value: String,
    /// Whether the value differs from before (false: it already had the new value).
    pub changed: bool,
}

/// Sets the value of the env var `name` in `text` (the contents of `file`, named in
/// errors) to `value`, keeping every other byte. See the module docs.
pub fn set_env_value(file: &str, text: &str, name: &str, value: &str) -> Result<EnvEdit> {
    with_entry(file, text, name, |doc, path, name_line, old| {
        edit_value(file, text, name, value, doc, path, name_line, old)
    })
}

/// The value of the env var `name` in `text` (the contents of `file`), found and
/// refused exactly as [`set_env_value`] finds and refuses it.
pub fn env_value(file: &str, text: &str, name: &str) -> Result<String> {
    with_entry(file, text, name, |_, _, _, old| Ok(old.value.clone()))
}

/// Finds the one env entry `name` with a plain value and hands it to `then`: its
/// document, its path, the line of its name and its value.
fn with_entry<T>(
    file: &str,
    text: &str,
    name: &str,
    then: impl FnOnce(usize, &[Step], u64, &Spanned<String>) -> Result<T>,
) -> Result<T> {
    let docs: Vec<Resource> = serde_saphyr::from_multiple(text).map_err(|e| {
        Error::usage(format!("{file}: not a manifest this edit can read: {e}"))
            .hint("fix the YAML first; `kubectl apply --dry-run=client -f` shows the problem")
    })?;
    let mut found = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        if let Some(spec) = &doc.spec {
            let path = vec![Step::Key("spec")];
            spec.entries(name, &path, &mut |path, entry| {
                found.push((index, path, entry));
            });
        }
    }
    let (doc, path, entry) = match found.len() {
        0 => {
            return Err(Error::not_found(format!(
                "{file}: no env entry {name} in any container (looked in every document's \
                 containers, initContainers and ephemeralContainers)"
            ))
            .hint(format!(
                "add `- name: {name}` with a `value:` to the container's env first"
            )));
        }
        1 => found.remove(0),
        _ => {
            let lines: Vec<String> = found
                .iter()
                .map(|(_, _, e)| e.name.referenced.line().to_string())
                .collect();
            return Err(Error::usage(format!(
                "{file}: {name} is set {} times (lines {}), so which one to change is ambiguous",
                found.len(),
                lines.join(", ")
            ))
            .hint(format!("keep one {name} entry in the manifest")));
        }
    };
    let name_line = entry.name.referenced.line();
    let old = match (&entry.value, &entry.value_from) {
        (Some(old), None) => old,
        (_, Some(_)) => {
            return Err(Error::usage(format!(
                "{file}:{name_line}: {name} is set by valueFrom, not a value this tool can set"
            ))
            .hint(format!("give {name} a plain `value:` instead")));
        }
        (None, None) => {
            return Err(
                Error::usage(format!("{file}:{name_line}: {name} has no value to set"))
                    .hint(format!("add `value: \"\"` under `- name: {name}`")),
            );
        }
    };
    then(doc, &path, name_line, old)
}

#[allow(clippy::too_many_arguments)]
fn edit_value(
    file: &str,
    text: &str,
    name: &str,
    value: &str,
    doc: usize,
    path: &[Step],
    name_line: u64,
    old: &Spanned<String>,
) -> Result<EnvEdit> {
    let refuse = |why: &str| {
        Error::usage(format!(
            "{file}:{name_line}: {name}'s value is {why}, which this edit does not rewrite"
        ))
        .hint("write it as a one-line plain or quoted value, or edit it by hand")
    };
    let (start, end) = scalar_range(old).ok_or_else(|| refuse("not where the parser says"))?;
    let quoting = quoting_at(text, start, end).ok_or_else(|| refuse("a block scalar"))?;
    if old.value == value {
        return Ok(EnvEdit {
            text: text.to_owned(),
            line: line_of(text, start),
            old_value: old.value.clone(),
            changed: false,
        });
    }
    let mut edited = String::with_capacity(text.len() + value.len());
    edited.push_str(&text[..start]);
    edited.push_str(&write_scalar(value, quoting));
    edited.push_str(&text[end..]);
    validate(file, text, &edited, doc, path, value)?;
    Ok(EnvEdit {
        line: line_of(&edited, start),
        text: edited,
        old_value: old.value.clone(),
        changed: true,
    })
}

/// Reads `path`, sets the value with [`set_env_value`] and, if it changed, writes the
/// file back atomically. On any error the file is untouched. `file` is how errors name
/// it (the path relative to the repository root).
pub fn set_env_value_in_file(path: &Path, file: &str, name: &str, value: &str) -> Result<EnvEdit> {
    let edit = set_env_value(file, &read_manifest(path, file)?, name, value)?;
    if edit.changed {
        fsutil::write_atomically(path, edit.text.as_bytes())?;
    }
    Ok(edit)
}

/// The text of the manifest at `path` (named `file` in errors): a missing file is
/// exit 4, an unreadable one exit 2.
pub fn read_manifest(path: &Path, file: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::not_found(format!("{file}: no such file"))
                .hint("pass --manifest with the deployment's path, relative to the repository")
        } else {
            Error::usage(format!("cannot read {file}: {e}"))
        }
    })
}

/// One step of the path from a document's root to the value.
#[derive(Clone, Debug)]
enum Step {
    Key(&'static str),
    Index(usize),
}

/// A manifest document, as far as env vars go; everything else is ignored.
#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    spec: Option<PodOwner>,
}

/// A pod spec, or a spec that holds one (`template`, `jobTemplate`): the fields of
/// all of them, each optional, so one type walks every workload kind.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodOwner {
    #[serde(default)]
    template: Option<Template>,
    #[serde(default)]
    job_template: Option<Template>,
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    init_containers: Vec<Container>,
    #[serde(default)]
    ephemeral_containers: Vec<Container>,
}

#[derive(Deserialize)]
struct Template {
    #[serde(default)]
    spec: Option<Box<PodOwner>>,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    env: Vec<EnvVar>,
}

#[derive(Deserialize)]
struct EnvVar {
    name: Spanned<String>,
    #[serde(default)]
    value: Option<Spanned<String>>,
    #[serde(default, rename = "valueFrom")]
    value_from: Option<IgnoredAny>,
}

impl PodOwner {
    /// Calls `found` with the path to each env entry named `name`, and the entry.
    fn entries<'a>(
        &'a self,
        name: &str,
        path: &[Step],
        found: &mut dyn FnMut(Vec<Step>, &'a EnvVar),
    ) {
        let at = |keys: &[Step]| -> Vec<Step> { path.iter().chain(keys).cloned().collect() };
        for (key, template) in [
            ("template", &self.template),
            ("jobTemplate", &self.job_template),
        ] {
            if let Some(spec) = template.as_ref().and_then(|t| t.spec.as_deref()) {
                spec.entries(name, &at(&[Step::Key(key), Step::Key("spec")]), found);
            }
        }
        for (key, containers) in [
            ("containers", &self.containers),
            ("initContainers", &self.init_containers),
            ("ephemeralContainers", &self.ephemeral_containers),
        ] {
            for (c, container) in containers.iter().enumerate() {
                for (e, entry) in container.env.iter().enumerate() {
                    if entry.name.value == name {
                        found(
                            at(&[
                                Step::Key(key),
                                Step::Index(c),
                                Step::Key("env"),
                                Step::Index(e),
                            ]),
                            entry,
                        );
                    }
                }
            }
        }
    }
}

/// The edited text must parse, and equal the original as data with only the value at
/// `path` in document `doc` replaced.
fn validate(
    file: &str,
    before: &str,
    after: &str,
    doc: usize,
    path: &[Step],
    value: &str,
) -> Result<()> {
    let broken = |why: String| {
        Error::failed(format!("{file}: the edit was not applied, because {why}"))
            .hint("set the value by hand, and report the file: this edit should have managed it")
    };
    let mut expected: Vec<serde_json::Value> = serde_saphyr::from_multiple(before)
        .map_err(|e| broken(format!("the original cannot be read as data: {e}")))?;
    let actual: Vec<serde_json::Value> = serde_saphyr::from_multiple(after)
        .map_err(|e| broken(format!("the edited text is not valid YAML: {e}")))?;
    let mut slot = expected.get_mut(doc);
    for step in path {
        slot = match step {
            Step::Key(key) => slot.and_then(|v| v.get_mut(*key)),
            Step::Index(i) => slot.and_then(|v| v.get_mut(*i)),
        };
    }
    let entry = slot.ok_or_else(|| broken("the entry is not where it was found".to_owned()))?;
    entry["value"] = serde_json::Value::String(value.to_owned());
    if expected != actual {
        return Err(broken(
            "it would change more than this one value (is the value an anchor that is also \
             used elsewhere?)"
                .to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml_text::Quoting;

    const URL: &str = "https://forge.example/ops/docs/releases/download/v1.3.0/docs-v1.3.0.tar.gz";
    const NAME: &str = "DOCS_RELEASE_URL";

    fn set(text: &str) -> Result<EnvEdit> {
        set_env_value("deployment.yaml", text, NAME, URL)
    }

    fn edited(text: &str) -> String {
        set(text).unwrap().text
    }

    /// The repository's own docs deployment: a comment above the entry, a double-quoted
    /// value, flow mappings elsewhere.
    #[test]
    fn the_real_docs_manifest_changes_in_the_url_only() {
        let text = include_str!("../../argocd/manifests/docs/deployment.yaml");
        let edit = set(text).unwrap();
        assert!(edit.changed);
        assert_eq!(edit.line, 18);
        assert_eq!(
            edit.old_value,
            "https://forge.example.invalid/ops/opskit/releases/download/v0.1.0/docs-v0.1.0.tar.gz"
        );
        assert_eq!(edit.text, text.replace(&edit.old_value, URL));
    }

    #[test]
    fn each_quoting_style_is_kept() {
        let make = |value: &str| {
            format!(
                "spec:\n  containers:\n    - name: a\n      env:\n        - name: DOCS_RELEASE_URL\n          value: {value}  # the tarball\n"
            )
        };
        for (old, new) in [
            ("https://old.example/x.tgz".to_owned(), URL.to_owned()),
            ("'https://old.example/x.tgz'".to_owned(), format!("'{URL}'")),
            (
                "\"https://old.example/\\x41.tgz\"".to_owned(),
                format!("\"{URL}\""),
            ),
        ] {
            assert_eq!(edited(&make(&old)), make(&new), "{old}");
        }
    }

    #[test]
    fn a_url_that_needs_quoting_is_escaped_for_its_quoting() {
        let url = "https://x.example/it's \"here\" #1";
        let text = "spec:\n  containers:\n    - env:\n        - {name: DOCS_RELEASE_URL, value: old}\n        - name: A\n          value: 'b'\n        - name: B\n          value: \"c\"\n";
        let edit = set_env_value("d.yaml", text, NAME, url).unwrap();
        insta::assert_snapshot!(edit.text, @r#"
        spec:
          containers:
            - env:
                - {name: DOCS_RELEASE_URL, value: 'https://x.example/it''s "here" #1'}
                - name: A
                  value: 'b'
                - name: B
                  value: "c"
        "#);
        for quoting in ["'old'", "\"old\""] {
            let text = format!(
                "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: {quoting}\n"
            );
            let edit = set_env_value("d.yaml", &text, NAME, url).unwrap();
            let parsed: serde_json::Value = serde_saphyr::from_str(&edit.text).unwrap();
            assert_eq!(parsed["spec"]["containers"][0]["env"][0]["value"], url);
            assert_eq!(
                edit.text.as_bytes()[edit.text.find("value: ").unwrap() + 7],
                quoting.as_bytes()[0]
            );
        }
    }

    #[test]
    fn crlf_line_ends_comments_and_a_missing_final_newline_stay() {
        let text = "# docs\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n        - name: quartz # serves\r\n          env:\r\n            # Updated by release-docs\r\n            - name: DOCS_RELEASE_URL\r\n              value: \"https://old.example/a.tgz\"\r\n            - name: TZ\r\n              value: UTC";
        assert_eq!(edited(text), text.replace("https://old.example/a.tgz", URL));
    }

    #[test]
    fn several_documents_containers_and_env_entries_only_the_one_changes() {
        let text = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: docs}
data:
  DOCS_RELEASE_URL: https://old.example/a.tgz
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: docs
  annotations:
    note: &note https://old.example/a.tgz
spec:
  template:
    spec:
      initContainers:
        - name: fetch
          env:
            - name: OTHER_URL
              value: https://old.example/a.tgz
      containers:
        - name: sidecar
          env:
            - name: TZ
              value: UTC
            - name: COPY
              value: *note
        - name: quartz
          env:
            - name: TZ
              value: UTC
            - name: DOCS_RELEASE_URL
              value: https://old.example/a.tgz # the tarball
            - name: PORT
              value: \"80\"
";
        let edit = set(text).unwrap();
        assert_eq!(edit.line, 33);
        assert_eq!(
            edit.text,
            text.replace(
                "value: https://old.example/a.tgz # the tarball",
                &format!("value: {URL} # the tarball")
            )
        );
    }

    #[test]
    fn cronjob_and_pod_specs_are_found_too() {
        let cron = "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - env: [{name: DOCS_RELEASE_URL, value: x}]\n";
        assert!(edited(cron).contains(&format!("value: {URL}}}")));
        let pod = "kind: Pod\nspec:\n  ephemeralContainers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: x\n";
        assert!(edited(pod).ends_with(&format!("value: {URL}\n")));
    }

    #[test]
    fn an_anchored_value_used_only_here_is_changed_at_its_anchor() {
        let text = "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: &u https://old.example/a.tgz\n";
        assert_eq!(edited(text), text.replace("https://old.example/a.tgz", URL));
    }

    #[test]
    fn an_anchor_shared_with_other_values_is_refused_by_the_validation() {
        let text = "metadata:\n  annotations:\n    u: &u https://old.example/a.tgz\nspec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: *u\n";
        let err = set(text).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        insta::assert_snapshot!(err.message(), @"deployment.yaml: the edit was not applied, because it would change more than this one value (is the value an anchor that is also used elsewhere?)");
    }

    #[test]
    fn the_same_value_again_changes_nothing() {
        let text = format!(
            "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: '{URL}'\n"
        );
        let edit = set(&text).unwrap();
        assert!(!edit.changed);
        assert_eq!(edit.text, text);
        assert_eq!((edit.line, edit.old_value.as_str()), (5, URL));
    }

    #[test]
    fn a_missing_var_is_not_found_naming_the_file() {
        let err = set("spec:\n  containers:\n    - env:\n        - name: OTHER\n          value: x\n# DOCS_RELEASE_URL: in a comment\n").unwrap_err();
        assert_eq!(err.exit_code(), 4);
        insta::assert_snapshot!(err.message(), @"deployment.yaml: no env entry DOCS_RELEASE_URL in any container (looked in every document's containers, initContainers and ephemeralContainers)");
    }

    #[test]
    fn a_duplicate_var_is_refused_naming_both_lines() {
        let err = set("spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: a\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: b\n").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        insta::assert_snapshot!(err.message(), @"deployment.yaml: DOCS_RELEASE_URL is set 2 times (lines 4, 7), so which one to change is ambiguous");
    }

    #[test]
    fn value_from_no_value_block_scalars_and_broken_yaml_are_refused() {
        let cases = [
            (
                "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          valueFrom: {configMapKeyRef: {name: a, key: b}}\n",
                "deployment.yaml:4: DOCS_RELEASE_URL is set by valueFrom, not a value this tool can set",
            ),
            (
                "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n",
                "deployment.yaml:4: DOCS_RELEASE_URL has no value to set",
            ),
            (
                "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: |\n            https://old.example/a.tgz\n",
                "deployment.yaml:4: DOCS_RELEASE_URL's value is a block scalar, which this edit does not rewrite",
            ),
        ];
        for (text, message) in cases {
            let err = set(text).unwrap_err();
            assert_eq!((err.exit_code(), err.message()), (2, message));
        }
        let err = set("spec: [\n").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message()
                .starts_with("deployment.yaml: not a manifest this edit can read"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn the_file_is_written_only_when_the_value_changes_and_never_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.yaml");
        let text = "spec:\n  containers:\n    - env:\n        - name: DOCS_RELEASE_URL\n          value: old\n";
        std::fs::write(&path, text).unwrap();
        let edit = set_env_value_in_file(&path, "deployment.yaml", NAME, URL).unwrap();
        assert!(edit.changed);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text.replace("old", URL)
        );
        let err = set_env_value_in_file(&path, "deployment.yaml", "NOPE", URL).unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text.replace("old", URL)
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let err = set_env_value_in_file(&dir.path().join("nope.yaml"), "nope.yaml", NAME, URL)
            .unwrap_err();
        assert_eq!(err.exit_code(), 4);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(64))]

        /// Whatever the URL's characters, the quoting, comments, line ends and
        /// neighbouring entries, the edited text is the same template with only the
        /// value's scalar rewritten, and it reads back as the new URL.
        #[test]
        fn only_the_value_bytes_change_and_read_back_as_the_url(
            url in "https://[a-z.]{1,12}/[a-zA-Z0-9_.~/?=&%:@!$'\"#, -]{0,30}",
            quoting in proptest::sample::select(vec![Quoting::Plain, Quoting::Single, Quoting::Double]),
            crlf in proptest::bool::ANY,
            comment in proptest::option::of("[ a-z:/.#'\"]{0,20}"),
            ours_first in proptest::bool::ANY,
            flow in proptest::bool::ANY,
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let comment = comment.map(|c| format!(" #{c}")).unwrap_or_default();
            let render = |value: &str| {
                let ours = if flow {
                    format!("        - {{name: DOCS_RELEASE_URL, value: {value}}}{comment}{nl}")
                } else {
                    format!("        - name: DOCS_RELEASE_URL{comment}{nl}          value: {value}{comment}{nl}")
                };
                let other = format!("        - name: OTHER{nl}          value: 'https://old.example/a.tgz'{nl}");
                let (a, b) = if ours_first { (ours, other) } else { (other, ours) };
                format!("# docs{nl}spec:{nl}  containers:{nl}    - name: quartz{nl}      env:{nl}{a}{b}")
            };
            let old = write_scalar("https://old.example/a.tgz", quoting);
            let edit = set_env_value("d.yaml", &render(&old), NAME, &url).unwrap();
            proptest::prop_assert_eq!(&edit.text, &render(&write_scalar(&url, quoting)));
            let parsed: serde_json::Value = serde_saphyr::from_str(&edit.text).unwrap();
            let env = &parsed["spec"]["containers"][0]["env"];
            let index = usize::from(!ours_first);
            proptest::prop_assert_eq!(&env[index]["value"], &serde_json::Value::from(url.as_str()));
        }
    }
}
