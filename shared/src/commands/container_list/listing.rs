//! Asking the registry for tags and choosing which to show: the filter, the order, the
//! limit, and the check that the image prefix names anything at all.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use regex::Regex;
use serde::Serialize;

use crate::ancestry::{Ancestry, Marker};
use crate::commands::flags::RegistryArgs;
use crate::containers::Container;
use crate::error::{Error, Kind, Result};
use crate::output;
use crate::registry::Registry;
use crate::tag::ImageTag;
use crate::version::VersionKey;

/// `--include` / `--exclude`, compiled once.
///
/// Without `--include`, the tags shown are those of the grammar v<version>-<sha7>[-nix];
/// with it, only the tags one of its regexes matches, whether in the grammar or not
/// (`--include '^latest$'` shows latest and nothing else). `--exclude` then hides what
/// it matches, whatever `--include` said. The limit counts what is left.
pub(super) struct TagFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl TagFilter {
    pub(super) fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        let compile = |flag: &str, patterns: &[String]| -> Result<Vec<Regex>> {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(p).map_err(|e| {
                        let why = e.to_string();
                        let why = why.lines().last().unwrap_or_default().trim();
                        let why = why.strip_prefix("error: ").unwrap_or(why);
                        Error::usage(format!("bad {flag} regex '{p}': {why}")).hint(
                            "the syntax is Rust's regex crate (like ERE); quote it for the shell",
                        )
                    })
                })
                .collect()
        };
        Ok(TagFilter {
            include: compile("--include", include)?,
            exclude: compile("--exclude", exclude)?,
        })
    }

    fn keeps(&self, tag: &str, is_version_tag: bool) -> bool {
        let included = if self.include.is_empty() {
            is_version_tag
        } else {
            self.include.iter().any(|re| re.is_match(tag))
        };
        included && !self.exclude.iter().any(|re| re.is_match(tag))
    }
}

/// What one listing run needs, shared by the container and orphan modes.
pub(super) struct Listing<'a> {
    pub(super) registry: &'a Registry,
    pub(super) args: &'a RegistryArgs,
    pub(super) filter: &'a TagFilter,
    pub(super) limit: Option<usize>,
}

impl Listing<'_> {
    pub(super) fn containers(
        &self,
        selected: &[Container],
        ancestry: &mut Ancestry,
    ) -> Vec<ImageEntry> {
        let repositories: Vec<String> = selected
            .iter()
            .map(|c| self.args.repository(&c.name))
            .collect();
        let fetched = fetch_tags(self.registry, &repositories);
        selected
            .iter()
            .zip(repositories)
            .zip(fetched)
            .map(|((container, repository), tags)| {
                let mut entry = self.entry(&repository, tags, ancestry);
                entry.name = container.name.clone();
                entry.kinds = container
                    .kinds
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect();
                entry.path = Some(container.rel_path());
                entry
            })
            .collect()
    }

    /// Repositories under the image prefix that match no container directory; exit 4
    /// when the registry has nothing under the prefix at all.
    pub(super) fn orphans(
        &self,
        known: &[String],
        ancestry: &mut Ancestry,
    ) -> Result<Vec<ImageEntry>> {
        let prefix = self.args.repository("");
        let catalog = crate::cli::block_on(self.registry.catalog())?;
        let under: Vec<&String> = catalog
            .iter()
            .filter(|repo| repo.starts_with(&prefix))
            .collect();
        if under.is_empty() {
            return Err(self.nothing_under_prefix(&catalog, known));
        }
        let orphans: Vec<String> = under
            .into_iter()
            .filter(|repo| {
                let rest = &repo[prefix.len()..];
                !known.iter().any(|name| name == rest)
            })
            .cloned()
            .collect();
        let fetched = fetch_tags(self.registry, &orphans);
        Ok(orphans
            .into_iter()
            .zip(fetched)
            .map(|(repository, tags)| {
                let mut entry = self.entry(&repository, tags, ancestry);
                entry.name = repository
                    .strip_prefix(&prefix)
                    .unwrap_or(&repository)
                    .to_owned();
                entry
            })
            .collect())
    }

    /// When the registry answered "no such repository" for every image, asks its
    /// catalog whether anything exists under the prefix: if nothing does, the prefix is
    /// wrong far more likely than every image unpushed, and a page of "nothing pushed"
    /// with exit 0 would hide that. Exit 4 then. A catalog the registry will not show
    /// leaves the listing as it is, with a warning.
    pub(super) fn check_prefix(&self, images: &[ImageEntry], selected: &[Container]) -> Result<()> {
        if images.is_empty() || images.iter().any(|i| i.status != Status::NotInRegistry) {
            return Ok(());
        }
        let known: Vec<String> = selected.iter().map(|c| c.name.clone()).collect();
        let prefix = self.args.repository("");
        match crate::cli::block_on(self.registry.catalog()) {
            Ok(catalog) if catalog.iter().any(|repo| under_prefix(repo, &prefix)) => Ok(()),
            Ok(catalog) => Err(self.nothing_under_prefix(&catalog, &known)),
            Err(err) => {
                output::warn(format_args!(
                    "none of the {} images is in the registry under {}, and its catalog cannot tell whether anything is ({}); if images should be there, check IMAGE_PREFIX or --image-prefix",
                    images.len(),
                    shown_prefix(&prefix),
                    err.message()
                ));
                Ok(())
            }
        }
    }

    /// "Nothing under this prefix", with a hint at the prefix the images may live under.
    fn nothing_under_prefix(&self, catalog: &[String], known: &[String]) -> Error {
        let host = self.registry.host();
        let prefix = self.args.repository("");
        let error = Error::not_found(format!(
            "the registry {host} has nothing under the image prefix {}",
            shown_prefix(&prefix)
        ));
        let hint = if catalog.is_empty() {
            "the registry has no repositories at all: push an image first, or check --registry (REGISTRY)".to_owned()
        } else {
            let mut hint =
                "check IMAGE_PREFIX or --image-prefix (an image is <registry>/<prefix>/<name>)"
                    .to_owned();
            match guess_prefixes(catalog, known).as_slice() {
                [] => {}
                [(guess, count)] => hint.push_str(&format!(
                    "; {count} of the containers are under '{guess}' there"
                )),
                guesses => {
                    let names: Vec<String> =
                        guesses.iter().map(|(g, _)| format!("'{g}'")).collect();
                    hint.push_str(&format!(
                        "; containers of this repository are under {} there",
                        names.join(", ")
                    ));
                }
            }
            hint
        };
        error.hint(hint)
    }

    fn entry(
        &self,
        repository: &str,
        tags: Result<Vec<String>>,
        ancestry: &mut Ancestry,
    ) -> ImageEntry {
        let mut entry = ImageEntry {
            name: repository.to_owned(),
            kinds: Vec::new(),
            image: format!("{}/{repository}", self.registry.host()),
            path: None,
            status: Status::Ok,
            error: None,
            failure: None,
            tags: Vec::new(),
            more: 0,
            hidden: 0,
        };
        match tags {
            Ok(tags) => {
                let (shown, more, hidden) = select_tags(tags, self.filter, self.limit, ancestry);
                entry.tags = shown;
                entry.more = more;
                entry.hidden = hidden;
            }
            Err(err) if err.kind() == Kind::NotFound => entry.status = Status::NotInRegistry,
            Err(err) => {
                entry.status = Status::Error;
                entry.error = Some(err.message().to_owned());
                entry.failure = Some(err);
            }
        }
        entry
    }
}

/// `'opskit/'`, or `(none)` for an empty prefix, for messages.
fn shown_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        "(none: images at the registry's top level)".to_owned()
    } else {
        format!("'{prefix}'")
    }
}

/// Whether a repository is one an image under `prefix` (`opskit/`, or empty) could be:
/// below the prefix, or at the top level when there is none.
fn under_prefix(repository: &str, prefix: &str) -> bool {
    if prefix.is_empty() {
        !repository.contains('/')
    } else {
        repository.starts_with(prefix)
    }
}

/// The prefixes under which the catalog holds repositories named like our containers,
/// most such containers first: what IMAGE_PREFIX probably should be.
fn guess_prefixes(catalog: &[String], known: &[String]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for repository in catalog {
        if let Some((prefix, name)) = repository.rsplit_once('/')
            && known.iter().any(|k| k == name)
        {
            *counts.entry(prefix).or_default() += 1;
        }
    }
    let mut guesses: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(prefix, count)| (format!("{prefix}/"), count))
        .collect();
    guesses.sort_by_key(|(_, count)| Reverse(*count));
    guesses.truncate(3);
    guesses
}

/// Lists the tags of every repository concurrently, each alongside the one shared
/// probe; a failed probe is every repository's answer, so each image still says why
/// it has no tags.
fn fetch_tags(registry: &Registry, repositories: &[String]) -> Vec<Result<Vec<String>>> {
    if repositories.is_empty() {
        return Vec::new();
    }
    crate::cli::block_on(futures::future::join_all(
        repositories.iter().map(|repo| registry.tags(repo)),
    ))
}

/// Filters, orders newest first, cuts to the limit, and marks what is shown.
/// Returns the shown tags, how many more matched, and how many the filter hid.
fn select_tags(
    tags: Vec<String>,
    filter: &TagFilter,
    limit: Option<usize>,
    ancestry: &mut Ancestry,
) -> (Vec<TagEntry>, usize, usize) {
    let total = tags.len();
    let mut kept: Vec<(String, Option<ImageTag>)> = tags
        .into_iter()
        .map(|tag| {
            let parsed = ImageTag::parse(&tag);
            (tag, parsed)
        })
        .filter(|(tag, parsed)| filter.keeps(tag, parsed.is_some()))
        .collect();
    let hidden = total - kept.len();
    kept.sort_by_cached_key(|(tag, parsed)| match parsed {
        Some(parsed) => (
            0,
            Some(Reverse(VersionKey::new(&parsed.version))),
            ancestry.position(&parsed.sha7).unwrap_or(usize::MAX),
            parsed.nix,
            tag.clone(),
        ),
        None => (1, None, 0, false, tag.clone()),
    });
    let shown_count = limit.map_or(kept.len(), |n| n.min(kept.len()));
    let more = kept.len() - shown_count;
    kept.truncate(shown_count);
    let shown = kept
        .into_iter()
        .map(|(tag, parsed)| match parsed {
            Some(parsed) => TagEntry {
                marker: ancestry.mark(&parsed.sha7),
                version: Some(parsed.version),
                commit: Some(parsed.sha7),
                nix: parsed.nix,
                tag,
            },
            None => TagEntry {
                tag,
                version: None,
                commit: None,
                nix: false,
                marker: Marker::Unknown,
            },
        })
        .collect();
    (shown, more, hidden)
}

/// How the registry answered for one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The registry has no such repository (nothing pushed yet): a real answer.
    NotInRegistry,
    /// The registry could not be asked or refused; `error` says why.
    Error,
}

/// One tag as shown; field names are stable for `--json`.
#[derive(Debug, Serialize)]
pub struct TagEntry {
    pub tag: String,
    /// The app version, without `v`; null for tags outside the grammar.
    pub version: Option<String>,
    /// The abbreviated commit the image was built from.
    pub commit: Option<String>,
    pub nix: bool,
    pub marker: Marker,
}

/// One image; field names are stable for `--json`.
#[derive(Debug, Serialize)]
pub struct ImageEntry {
    /// The container name (or, with --registry-only, the repository under the prefix).
    pub name: String,
    /// Build kinds found in containers/<name>: dockerfile, nix, native.
    pub kinds: Vec<String>,
    /// `registry/prefix/name`, as a manifest pins it.
    pub image: String,
    /// `containers/<name>`; null for repositories with no directory.
    pub path: Option<String>,
    pub status: Status,
    pub error: Option<String>,
    /// The whole failure behind `error`: its kind decides the exit code, its hints say
    /// what to do.
    #[serde(skip)]
    pub failure: Option<Error>,
    /// Newest first.
    pub tags: Vec<TagEntry>,
    /// Matching tags not shown because of the limit.
    pub more: usize,
    /// Tags the filter hid (outside the version grammar, or by --include/--exclude).
    pub hidden: usize,
}

/// The listing, for the default mode and --registry-only.
#[derive(Debug, Serialize)]
pub struct ListReport {
    pub registry: String,
    /// The ref markers compare with; null when there is none.
    pub main_ref: Option<String>,
    pub registry_only: bool,
    pub images: Vec<ImageEntry>,
}

impl ListReport {
    /// Exit 3 (or the failure's own code) when any image could not be listed: the output
    /// is then incomplete.
    pub(super) fn outcome(&self) -> Result<()> {
        let failures: Vec<&Error> = self
            .images
            .iter()
            .filter_map(|i| i.failure.as_ref())
            .collect();
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(incomplete(
                format!(
                    "{} of {} images could not be listed",
                    failures.len(),
                    self.images.len()
                ),
                first,
            )),
        }
    }
}

/// The error for output left incomplete by failures: `summary` and the first failure,
/// with that failure's kind — exit 3 for the registry's failures, 2 for a local cause
/// such as a broken credential helper — and its hints, which say what to do.
pub(super) fn incomplete(summary: String, first: &Error) -> Error {
    let mut error = Error::new(
        first.kind(),
        format!("{summary}; first: {}", first.message()),
    );
    if first.hints().is_empty() {
        error = error.hint("fix the registry problem and run again");
    }
    for hint in first.hints() {
        error = error.hint(hint.clone());
    }
    error.hint("--debug shows each request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_shows_only_its_matches_version_or_not_and_exclude_wins() {
        let filter =
            TagFilter::new(&["^v1\\.".into(), "^latest$".into()], &["-nix$".into()]).unwrap();
        assert!(filter.keeps("v1.0.0-abcdef0", true));
        assert!(filter.keeps("latest", false));
        assert!(
            !filter.keeps("v2.0.0-abcdef0", true),
            "not matched by --include"
        );
        assert!(!filter.keeps("v1.0.0-abcdef0-nix", true), "--exclude wins");
        let default = TagFilter::new(&[], &[]).unwrap();
        assert!(default.keeps("v2.0.0-abcdef0", true));
        assert!(!default.keeps("latest", false));
    }

    #[test]
    fn prefixes_are_guessed_from_repositories_named_like_containers() {
        let catalog: Vec<String> = ["opskit/app", "opskit/tool", "old/app", "other/x", "app2"]
            .map(String::from)
            .to_vec();
        let known = ["app".to_owned(), "tool".to_owned()];
        assert_eq!(
            guess_prefixes(&catalog, &known),
            [("opskit/".to_owned(), 2), ("old/".to_owned(), 1)]
        );
        assert!(under_prefix("opskit/app", "opskit/"));
        assert!(!under_prefix("opskit2/app", "opskit/"));
        assert!(under_prefix("app", ""));
        assert!(!under_prefix("opskit/app", ""));
    }
}
