//! The image tag grammar: `v<version>-<sha7>` and, for nix builds, `v<version>-<sha7>-nix`.
//!
//! App versions may themselves contain dashes and hex-looking parts (`4.1.1-r1`,
//! `1.0-deadbee`), so a tag is parsed from the right: first an optional `-nix`, then a
//! 7-character lowercase hex commit, and everything before it (after the `v`) is the
//! version. Reading from the left — "the first 7-hex run" — is what made the old tools
//! mark the wrong commit.

use std::fmt;

use serde::Serialize;

/// A parsed version tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ImageTag {
    /// The app version without the leading `v`.
    pub version: String,
    /// The abbreviated commit the image was built from.
    pub sha7: String,
    /// Built from `default.nix`.
    pub nix: bool,
}

const NIX_SUFFIX: &str = "-nix";

impl ImageTag {
    /// The tag for `version` (with or without `v`) built at `commit` (full or short hex).
    pub fn new(version: &str, commit: &str, nix: bool) -> Self {
        ImageTag {
            version: crate::version::strip_v(version).to_owned(),
            sha7: commit.chars().take(7).collect(),
            nix,
        }
    }

    /// Parses a tag; `None` for tags outside the grammar (`latest`, `v1.2.3`, `main`).
    pub fn parse(tag: &str) -> Option<ImageTag> {
        let (rest, nix) = match tag.strip_suffix(NIX_SUFFIX) {
            Some(rest) => (rest, true),
            None => (tag, false),
        };
        let (head, sha7) = rest.rsplit_once('-')?;
        if sha7.len() != 7 || !sha7.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let version = head.strip_prefix('v')?;
        if !version.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        Some(ImageTag {
            version: version.to_owned(),
            sha7: sha7.to_owned(),
            nix,
        })
    }
}

impl fmt::Display for ImageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}-{}", self.version, self.sha7)?;
        if self.nix {
            f.write_str(NIX_SUFFIX)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(tag: &str) -> Option<(String, String, bool)> {
        ImageTag::parse(tag).map(|t| (t.version, t.sha7, t.nix))
    }

    #[test]
    fn distro_suffix_and_nix_are_parsed_from_the_right() {
        assert_eq!(
            parsed("v4.1.1-r1-abc1234-nix"),
            Some(("4.1.1-r1".into(), "abc1234".into(), true))
        );
        assert_eq!(
            parsed("v0.61.1-2d4098e"),
            Some(("0.61.1".into(), "2d4098e".into(), false))
        );
    }

    #[test]
    fn hex_looking_version_parts_do_not_fool_the_parser() {
        assert_eq!(
            parsed("v1.0-deadbee-abc1234"),
            Some(("1.0-deadbee".into(), "abc1234".into(), false))
        );
        assert_eq!(
            parsed("v2026.2.0-2d4098e-nix"),
            Some(("2026.2.0".into(), "2d4098e".into(), true))
        );
    }

    #[test]
    fn tags_outside_the_grammar_are_rejected() {
        for tag in [
            "latest",
            "v1.2.3",
            "v1.2.3-nix",
            "1.2.3-abc1234",
            "v1.2.3-ABC1234",
            "v1.2.3-abc12345",
            "v-abc1234",
            "vx.y-abc1234",
            "main-abc1234",
        ] {
            assert_eq!(ImageTag::parse(tag), None, "{tag}");
        }
    }

    #[test]
    fn new_adds_v_and_shortens_the_commit_and_round_trips() {
        let tag = ImageTag::new("v4.1.1-r1", "abc1234def5678", true);
        assert_eq!(tag.to_string(), "v4.1.1-r1-abc1234-nix");
        assert_eq!(ImageTag::parse(&tag.to_string()), Some(tag));
        assert_eq!(
            ImageTag::new("3.8.2", "0123456", false).to_string(),
            "v3.8.2-0123456"
        );
    }
}
