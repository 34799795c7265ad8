//! Which forge answers, and what its Actions API can do.
//!
//! Forgejo and Gitea share `/api/v1` but grew Actions endpoints at different times
//! (see the table in the module docs of [`crate::forge`]). The tool asks
//! `GET /api/v1/version` once per run and picks its requests from the answer, instead
//! of probing endpoints and turning every 404 into a guess.

use std::fmt;

/// The two products that serve this API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Forgejo,
    Gitea,
}

/// A server's product and version, as `GET /api/v1/version` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVersion {
    pub product: Product,
    pub major: u64,
    pub minor: u64,
    raw: String,
}

impl ServerVersion {
    /// Reads `14.0.2+gitea-1.22.0` (Forgejo: its own version, then the Gitea API level
    /// it is compatible with) or `1.25.2` (Gitea). Forgejo numbers start at 7; Gitea
    /// is still at 1.x, so the major number alone tells them apart when the
    /// `+gitea-` suffix is missing (development builds).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let core = raw.trim_start_matches('v');
        let core = core.split(['+', '-']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(|p| p.ok()).unwrap_or(0);
        let product = if raw.contains("+gitea") || major >= 7 {
            Product::Forgejo
        } else {
            Product::Gitea
        };
        Some(ServerVersion {
            product,
            major,
            minor,
            raw: raw.to_owned(),
        })
    }

    fn at_least(&self, forgejo_major: u64, gitea_minor: u64) -> bool {
        match self.product {
            Product::Forgejo => self.major >= forgejo_major,
            Product::Gitea => self.major > 1 || (self.major == 1 && self.minor >= gitea_minor),
        }
    }

    /// `GET …/actions/runs` with `total_count`: Forgejo v12+, Gitea 1.25+.
    pub fn has_runs_api(&self) -> bool {
        self.at_least(12, 25)
    }

    /// Whether the runs list comes newest first. Forgejo v12–v14 send no ORDER BY
    /// (database order, oldest first in practice); v15 and Gitea order by `id DESC`.
    pub fn runs_newest_first(&self) -> bool {
        self.at_least(15, 25)
    }

    /// The `workflow_id` filter on the runs list: Forgejo v15+ only.
    pub fn runs_filter_by_workflow(&self) -> bool {
        self.product == Product::Forgejo && self.major >= 15
    }

    /// `GET …/actions/runs` filters by `run_number`: Forgejo only (Gitea has no such filter).
    pub fn runs_filter_by_number(&self) -> bool {
        self.product == Product::Forgejo
    }

    /// `GET …/actions/runs/{id}/jobs`: the Forgejo v16 branch, Gitea 1.25+.
    pub fn has_jobs_api(&self) -> bool {
        self.at_least(16, 25)
    }

    /// `GET …/actions/jobs/{id}/logs`: the Forgejo v16 branch, Gitea 1.24+.
    pub fn has_job_logs_api(&self) -> bool {
        self.at_least(16, 24)
    }

    /// The web log route has an `/attempt/{n}` segment from Forgejo v14.
    pub fn web_log_route_has_attempt(&self) -> bool {
        self.product == Product::Forgejo && self.major >= 14
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.product {
            Product::Forgejo => "Forgejo",
            Product::Gitea => "Gitea",
        };
        let shown = self.raw.split('+').next().unwrap_or(&self.raw);
        write!(f, "{name} {shown}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgejo_and_gitea_version_strings_are_told_apart() {
        let forgejo = ServerVersion::parse("14.0.2+gitea-1.22.0").unwrap();
        assert_eq!((forgejo.product, forgejo.major), (Product::Forgejo, 14));
        assert_eq!(forgejo.to_string(), "Forgejo 14.0.2");
        let gitea = ServerVersion::parse("1.25.2").unwrap();
        assert_eq!((gitea.product, gitea.minor), (Product::Gitea, 25));
        assert_eq!(gitea.to_string(), "Gitea 1.25.2");
        assert_eq!(ServerVersion::parse("16.0-dev").unwrap().major, 16);
        assert!(ServerVersion::parse("garbage").is_none());
    }

    #[test]
    fn capabilities_follow_the_endpoint_table() {
        let v = |s| ServerVersion::parse(s).unwrap();
        assert!(!v("11.0.0+gitea-1.22.0").has_runs_api());
        assert!(v("12.0.0+gitea-1.22.0").has_runs_api());
        assert!(!v("14.0.2+gitea-1.22.0").runs_newest_first());
        assert!(!v("15.0.3+gitea-1.22.0").has_jobs_api());
        assert!(v("16.0.2+gitea-1.22.0").has_job_logs_api());
        assert!(v("1.24.0").has_job_logs_api() && !v("1.24.0").has_runs_api());
        assert!(v("1.25.2").has_jobs_api() && !v("1.25.2").runs_filter_by_number());
        assert!(v("14.0.0+gitea-1.22.0").web_log_route_has_attempt());
        assert!(!v("13.0.0+gitea-1.22.0").web_log_route_has_attempt());
    }
}
