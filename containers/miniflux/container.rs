//! miniflux: a native pipeline in two stages — a static Go build and an Alpine runtime.
//! The same version as default.nix builds; `version-sync-check` keeps them in step.

use pipeline::helpers::run_as;
use pipeline::{Container, Directory, Pipeline, alpine_runtime, go_build, oci_labels, source_at_tag};

pub const VERSION: &str = "2.2.6";

/// Where the source is cloned from, at tag `v{VERSION}`.
pub const SOURCE: &str = "https://github.com/miniflux/v2";

pub fn build(pipeline: &Pipeline, _context: Directory) -> Container {
    let source = source_at_tag(pipeline, SOURCE, &format!("v{VERSION}"));
    let binary = go_build(pipeline, &source, "/out/miniflux")
        .ldflags(&format!("-s -w -X miniflux.app/v2/internal/version.Version={VERSION}"))
        .file();
    let runtime = alpine_runtime(pipeline, &["ca-certificates"]);
    oci_labels(run_as(pipeline, &runtime, 1000, "miniflux"), "miniflux", "Minimalist feed reader", VERSION)
        .with_file("/usr/bin/miniflux", binary)
        .with_exposed_port(8080)
        .with_default_args(vec!["/usr/bin/miniflux"])
}
