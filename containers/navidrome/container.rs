//! navidrome: a native pipeline in three stages — the UI with Node, the server with Go
//! (cgo, for taglib), and an Alpine runtime. `container-version` reads VERSION as text;
//! the build function is compiled into `container-build-and-release` (pipeline crate).

use pipeline::helpers::run_as;
use pipeline::{Container, Directory, Pipeline, alpine_runtime, go_build, node_build, oci_labels, source_at_tag};

pub const VERSION: &str = "v0.61.1";

/// Where the source is cloned from, at tag VERSION.
pub const SOURCE: &str = "https://github.com/navidrome/navidrome";

pub fn build(pipeline: &Pipeline, _context: Directory) -> Container {
    let source = source_at_tag(pipeline, SOURCE, VERSION);
    let ui = node_build(pipeline, &source, "ui");
    let binary = go_build(pipeline, &source.with_directory("ui/build", ui), "/out/navidrome")
        .tags("netgo,sqlite_fts5")
        .ldflags(&format!("-w -s -X github.com/navidrome/navidrome/consts.gitTag={VERSION}"))
        .cgo(&["taglib-dev", "zlib-dev"])
        .file();
    let runtime = alpine_runtime(pipeline, &["taglib", "zlib", "ffmpeg", "ca-certificates"]);
    oci_labels(run_as(pipeline, &runtime, 1000, "navidrome"), "navidrome", "Modern music server", VERSION)
        .with_file("/app/navidrome", binary)
        .with_exposed_port(4533)
        .with_default_args(vec!["/app/navidrome"])
}
