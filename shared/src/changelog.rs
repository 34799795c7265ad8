//! towncrier's configuration, fragments and CHANGELOG sections, read without running
//! towncrier, for `release-docs changelog`.
//!
//! towncrier itself is lenient where a release must not be: a fragment whose type it
//! does not know (`+x.feture.md`) is skipped without a word and never reaches the
//! changelog. So the names are checked here first, against the types the repository's
//! `towncrier.toml` declares, and a release stops on the first malformed one.
//!
//! The section for a version is found by the configured `title_format` (this repo:
//! `## [{version}] - {project_date}`), not a hard-coded heading, so a re-run can tell
//! that the version was already folded in and print what was written then.

use std::path::Path;

use regex::Regex;

use crate::error::{Error, Result};

/// The file towncrier reads its settings from, at the repository root.
pub const CONFIG_FILE: &str = "towncrier.toml";

/// Names towncrier never takes for fragments (its `_builder.py` `ignored_files`),
/// compared case-insensitively.
const ALWAYS_IGNORED: [&str; 6] = [
    ".gitignore",
    ".gitkeep",
    ".keep",
    "readme",
    "readme.md",
    "readme.rst",
];

/// towncrier's types when the configuration declares none.
const DEFAULT_TYPES: [&str; 5] = ["feature", "bugfix", "doc", "removal", "misc"];

/// What `release-docs changelog` needs of `[tool.towncrier]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Towncrier {
    /// The fragments' directory, relative to the root (`docs/changelog.d`).
    pub directory: String,
    /// The changelog, relative to the root (`CHANGELOG.md`).
    pub filename: String,
    /// A section's title, with `{version}`, `{project_date}` and `{name}` in it.
    pub title_format: String,
    /// What starts the name of a fragment with no issue (`+`).
    pub orphan_prefix: String,
    /// The fragment types, in the order declared (`feature`, `bugfix`, …).
    pub types: Vec<String>,
    /// The configuration's `ignore` patterns (fnmatch's `*` and `?`), lower-cased.
    ignore: Vec<String>,
}

impl Towncrier {
    /// `towncrier.toml` at `root`: exit 4 when it is missing, 2 when it is unusable.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    Error::not_found(format!("no {CONFIG_FILE} in {}", root.display())).hint(
                        "run it in the repository that holds towncrier.toml, or pass --repo-root",
                    ),
                );
            }
            Err(e) => {
                return Err(Error::failed(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        Self::parse(&text)
    }

    /// The settings from the text of a `towncrier.toml`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |what: String| {
            Error::usage(format!("{CONFIG_FILE}: {what}"))
                .hint("see https://towncrier.readthedocs.io/en/stable/configuration.html")
        };
        let document = toml_edit::Document::parse(text.to_owned())
            .map_err(|e| bad(format!("not valid TOML: {}", e.message())))?;
        let Some(settings) = document
            .as_table()
            .get("tool")
            .and_then(|tool| tool.get("towncrier"))
        else {
            return Err(bad("no [tool.towncrier] table".to_owned()));
        };
        let string = |key: &str| -> Result<Option<String>> {
            match settings.get(key) {
                None => Ok(None),
                Some(item) => item
                    .as_str()
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| bad(format!("tool.towncrier.{key} is not a string"))),
            }
        };
        let required = |key: &str, why: &str| -> Result<String> {
            string(key)?.ok_or_else(|| bad(format!("tool.towncrier.{key} is not set ({why})")))
        };
        let mut types: Vec<String> = settings
            .get("type")
            .and_then(|t| t.as_array_of_tables())
            .map(|tables| {
                tables
                    .iter()
                    .filter_map(|t| t.get("directory").and_then(|d| d.as_str()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(fragments) = settings.get("fragment").and_then(|f| f.as_table_like()) {
            types.extend(fragments.iter().map(|(key, _)| key.to_owned()));
        }
        if types.is_empty() {
            types = DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        }
        let ignore = settings
            .get("ignore")
            .and_then(|i| i.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Towncrier {
            directory: required("directory", "where the fragments are")?,
            filename: string("filename")?.unwrap_or_else(|| "NEWS.rst".to_owned()),
            title_format: required(
                "title_format",
                "it is how an already written section is found",
            )?,
            orphan_prefix: string("orphan_prefix")?.unwrap_or_else(|| "+".to_owned()),
            types,
            ignore,
        })
    }

    /// Whether towncrier passes over this file in the fragments' directory.
    pub fn is_ignored(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        ALWAYS_IGNORED.contains(&lower.as_str())
            || self.ignore.iter().any(|pattern| fnmatch(pattern, &lower))
    }

    /// Whether `name` is a well-formed fragment: `<issue>.<type>.md` or
    /// `<orphan prefix><name>.<type>.md`, optionally with a counter before `.md`
    /// (`12.bugfix.1.md`), `<type>` one this configuration declares.
    pub fn is_fragment_name(&self, name: &str) -> bool {
        let Some(stem) = name.strip_suffix(".md") else {
            return false;
        };
        let parts: Vec<&str> = stem.split('.').collect();
        let (issue, kind) = match parts.as_slice() {
            [issue, kind] => (*issue, *kind),
            [issue, kind, counter]
                if !counter.is_empty() && counter.bytes().all(|b| b.is_ascii_digit()) =>
            {
                (*issue, *kind)
            }
            _ => return false,
        };
        let named = issue
            .strip_prefix(self.orphan_prefix.as_str())
            .filter(|_| !self.orphan_prefix.is_empty())
            .unwrap_or(issue);
        let plain = |c: char| !c.is_whitespace() && c != '/' && c != '\\';
        !named.is_empty() && issue.chars().all(plain) && self.types.iter().any(|t| t == kind)
    }

    /// The fragments in `root`'s fragment directory, by name, sorted; none when the
    /// directory does not exist. A malformed name is exit 2, naming every such file and
    /// the types there are.
    pub fn fragments(&self, root: &Path) -> Result<Vec<String>> {
        let dir = root.join(&self.directory);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::failed(format!("cannot read {}: {e}", dir.display())));
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::failed(format!("cannot read {}: {e}", dir.display())))?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if !self.is_ignored(&name) {
                names.push(name);
            }
        }
        names.sort();
        let malformed: Vec<String> = names
            .iter()
            .filter(|name| !self.is_fragment_name(name))
            .map(|name| format!("{}/{name}", self.directory))
            .collect();
        if !malformed.is_empty() {
            let prefix = &self.orphan_prefix;
            return Err(Error::usage(format!(
                "malformed changelog fragment name: {}",
                malformed.join(", ")
            ))
            .hint(format!(
                "name it <issue>.<type>.md or {prefix}<name>.<type>.md, where <type> is one of: {}",
                self.types.join(", ")
            )));
        }
        Ok(names)
    }

    /// The section of `changelog` titled for `version`: from its title line to the
    /// line before the next section's title (or the end), with trailing blank lines
    /// dropped and one line end kept.
    pub fn existing_section(&self, changelog: &str, version: &str) -> Option<String> {
        let this = self.title_pattern(Some(version));
        let any = self.title_pattern(None);
        let lines: Vec<&str> = changelog.lines().collect();
        let start = lines.iter().position(|line| this.is_match(line))?;
        let end = lines[start + 1..]
            .iter()
            .position(|line| any.is_match(line))
            .map_or(lines.len(), |n| start + 1 + n);
        Some(format!("{}\n", lines[start..end].join("\n").trim_end()))
    }

    /// A regex for a title line: `{version}` is `version` (any, when `None`), the other
    /// placeholders anything.
    fn title_pattern(&self, version: Option<&str>) -> Regex {
        let placeholder = Regex::new(r"\{[a-z_]+\}").expect("a valid regex");
        let mut pattern = String::from("^");
        let mut last = 0;
        for found in placeholder.find_iter(&self.title_format) {
            pattern.push_str(&regex::escape(&self.title_format[last..found.start()]));
            match (found.as_str(), version) {
                ("{version}", Some(version)) => pattern.push_str(&regex::escape(version)),
                _ => pattern.push_str(".+?"),
            }
            last = found.end();
        }
        pattern.push_str(&regex::escape(&self.title_format[last..]));
        pattern.push_str(r"\s*$");
        Regex::new(&pattern).expect("an escaped title is a valid regex")
    }
}

/// towncrier's `fnmatch` for `ignore`: `*` is any run of characters, `?` any one.
fn fnmatch(pattern: &str, name: &str) -> bool {
    let regex = format!(
        "^{}$",
        regex::escape(pattern)
            .replace(r"\*", ".*")
            .replace(r"\?", ".")
    );
    Regex::new(&regex).is_ok_and(|r| r.is_match(name))
}

/// Today's date in UTC, `YYYY-MM-DD`: a section's date when none is given.
pub fn today_utc() -> String {
    jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
        .to_string()
}

/// `--date`: a calendar date, `YYYY-MM-DD`; exit 2 otherwise.
pub fn parse_date(text: &str) -> Result<String> {
    let strict = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    match text.parse::<jiff::civil::Date>() {
        Ok(date) if strict => Ok(date.to_string()),
        _ => Err(Error::usage(format!("'{text}' is not a date"))
            .hint("give --date as YYYY-MM-DD, such as 2026-12-02")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r###"
[tool.towncrier]
directory = "docs/changelog.d"
filename = "CHANGELOG.md"
start_string = "<!-- towncrier release notes start -->\n"
title_format = "## [{version}] - {project_date}"
issue_format = ""

[[tool.towncrier.type]]
directory = "feature"
name = "Features"
showcontent = true

[[tool.towncrier.type]]
directory = "bugfix"
name = "Bug Fixes"
showcontent = true
"###;

    fn config() -> Towncrier {
        Towncrier::parse(CONFIG).expect("the repo's form parses")
    }

    #[test]
    fn the_repos_towncrier_toml_gives_directory_file_title_and_types() {
        let repo_config = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let loaded = Towncrier::load(&repo_config).expect("the repository's towncrier.toml");
        assert_eq!(loaded.directory, "docs/changelog.d");
        assert_eq!(loaded.filename, "CHANGELOG.md");
        assert_eq!(loaded.title_format, "## [{version}] - {project_date}");
        assert_eq!(loaded.orphan_prefix, "+");
        assert_eq!(
            loaded.types,
            ["feature", "bugfix", "infra", "doc", "misc"].map(String::from)
        );
    }

    #[test]
    fn fragment_tables_and_no_types_at_all_give_towncriers_types() {
        let tables = Towncrier::parse(
            "[tool.towncrier]\ndirectory = \"d\"\ntitle_format = \"# {version}\"\n\
             [tool.towncrier.fragment.feat]\n[tool.towncrier.fragment.fix]\n",
        )
        .unwrap();
        assert_eq!(tables.types, ["feat", "fix"].map(String::from));
        let none = Towncrier::parse(
            "[tool.towncrier]\ndirectory = \"d\"\ntitle_format = \"# {version}\"\n",
        )
        .unwrap();
        assert_eq!(none.types, DEFAULT_TYPES.map(String::from));
        assert_eq!(none.filename, "NEWS.rst");
    }

    #[test]
    fn an_unusable_config_is_a_usage_error_saying_what_is_wrong() {
        for (text, says) in [
            ("[tool.towncrier\n", "not valid TOML"),
            ("[tool.other]\n", "no [tool.towncrier] table"),
            (
                "[tool.towncrier]\ntitle_format = \"x\"\n",
                "tool.towncrier.directory is not set",
            ),
            (
                "[tool.towncrier]\ndirectory = \"d\"\n",
                "tool.towncrier.title_format is not set",
            ),
            (
                "[tool.towncrier]\ndirectory = 3\ntitle_format = \"x\"\n",
                "tool.towncrier.directory is not a string",
            ),
        ] {
            let error = Towncrier::parse(text).expect_err(text);
            assert_eq!(error.exit_code(), 2, "{text}");
            assert!(error.message().contains(says), "{}", error.message());
        }
    }

    #[test]
    fn fragment_names_need_a_known_type_and_md_with_an_optional_counter() {
        let config = config();
        for good in [
            "12.feature.md",
            "+foundation.feature.md",
            "fix-login.bugfix.md",
            "12.bugfix.1.md",
            "+x.feature.20.md",
        ] {
            assert!(config.is_fragment_name(good), "{good}");
        }
        for bad in [
            "12.feture.md",
            "12.md",
            "feature.md",
            "+.feature.md",
            ".feature.md",
            "12.feature",
            "12.feature.txt",
            "12.feature.x.md",
            "a.b.feature.md",
            "has space.feature.md",
            "12.feature.1.2.md",
        ] {
            assert!(!config.is_fragment_name(bad), "{bad}");
        }
    }

    #[test]
    fn towncriers_own_ignored_names_and_configured_patterns_are_not_fragments() {
        let config = Towncrier::parse(&format!("{CONFIG}\n"))
            .map(|mut c| {
                c.ignore = vec!["notes-*.txt".to_owned()];
                c
            })
            .unwrap();
        for ignored in [
            ".gitkeep",
            "README.md",
            ".keep",
            "notes-1.txt",
            "NOTES-2.TXT",
        ] {
            assert!(config.is_ignored(ignored), "{ignored}");
        }
        assert!(!config.is_ignored("notes.txt"));
        assert!(!config.is_ignored("12.feature.md"));
    }

    #[test]
    fn fragments_are_listed_sorted_and_a_malformed_name_names_every_bad_file_and_the_types() {
        let dir = tempfile::tempdir().unwrap();
        let fragments = dir.path().join("docs/changelog.d");
        std::fs::create_dir_all(fragments.join("sub")).unwrap();
        for name in ["+b.feature.md", "12.bugfix.md", ".gitkeep"] {
            std::fs::write(fragments.join(name), "x\n").unwrap();
        }
        let config = config();
        assert_eq!(
            config.fragments(dir.path()).unwrap(),
            ["+b.feature.md", "12.bugfix.md"].map(String::from)
        );
        std::fs::write(fragments.join("+c.feture.md"), "x\n").unwrap();
        std::fs::write(fragments.join("notes"), "x\n").unwrap();
        let error = config.fragments(dir.path()).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.message(),
            "malformed changelog fragment name: docs/changelog.d/+c.feture.md, docs/changelog.d/notes"
        );
        assert_eq!(
            error.hints(),
            [
                "name it <issue>.<type>.md or +<name>.<type>.md, where <type> is one of: feature, bugfix"
            ]
        );
    }

    #[test]
    fn no_fragment_directory_means_no_fragments() {
        let dir = tempfile::tempdir().unwrap();
        assert!(config().fragments(dir.path()).unwrap().is_empty());
    }

    const CHANGELOG: &str = "# Changelog\n\n<!-- towncrier release notes start -->\n\n\
        ## [v1.2.3] - 2026-12-02\n\n### Features\n\n- New.\n\n\n\
        ## [v1.2.2] - 2026-11-01\n\n### Bug Fixes\n\n- Old.\n";

    #[test]
    fn the_existing_section_runs_from_its_title_to_the_next_title() {
        let config = config();
        assert_eq!(
            config.existing_section(CHANGELOG, "v1.2.3").as_deref(),
            Some("## [v1.2.3] - 2026-12-02\n\n### Features\n\n- New.\n")
        );
        assert_eq!(
            config.existing_section(CHANGELOG, "v1.2.2").as_deref(),
            Some("## [v1.2.2] - 2026-11-01\n\n### Bug Fixes\n\n- Old.\n")
        );
        assert_eq!(config.existing_section(CHANGELOG, "v1.2.4"), None);
        // A version that merely starts like another is not it.
        assert_eq!(config.existing_section(CHANGELOG, "v1.2"), None);
        assert_eq!(config.existing_section(CHANGELOG, "v1.2.3.1"), None);
    }

    #[test]
    fn the_section_title_follows_the_configured_title_format() {
        let mut config = config();
        config.title_format = "{name} {version} ({project_date})".to_owned();
        let text = "opskit v2.0.0 (2026-12-02)\n===\n\n- A.\n\nopskit v1.0.0 (2026-01-01)\n===\n";
        assert_eq!(
            config.existing_section(text, "v2.0.0").as_deref(),
            Some("opskit v2.0.0 (2026-12-02)\n===\n\n- A.\n")
        );
        assert_eq!(config.existing_section(CHANGELOG, "v1.2.3"), None);
    }

    #[test]
    fn dates_are_strict_year_month_day() {
        assert_eq!(parse_date("2026-12-02").unwrap(), "2026-12-02");
        for bad in [
            "2026-13-01",
            "2026-2-3",
            "02.12.2026",
            "",
            "2026-12-02T00:00",
        ] {
            assert_eq!(parse_date(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert!(parse_date(&today_utc()).is_ok());
    }
}
