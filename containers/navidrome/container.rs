//! navidrome: a native pipeline. `container-version` reads VERSION as text; the build
//! function is compiled into the image builder (`container-build-and-release`).

use opskit::pipeline::{Client, Container, Directory, alpine_runtime, clone_from_forge, go_build, node_build, oci_labels};

pub const VERSION: &str = "v0.61.1";

pub fn build(client: &Client, _src: Directory) -> Container {
    let source = clone_from_forge(client, "navidrome", VERSION);
    let ui = node_build(client, &source, "ui");
    let binary = go_build(client, &source.with_directory("ui/build", ui), "/navidrome")
        .tags("netgo,sqlite_fts5")
        .ldflags(&format!("-w -s -X github.com/navidrome/navidrome/consts.gitTag={VERSION}"))
        .cgo(&["taglib-dev", "zlib-dev"])
        .file();
    let runtime = alpine_runtime(client, &["taglib", "zlib", "ffmpeg"]).user(1000, 1000, "navidrome");
    oci_labels(runtime, "navidrome", "Modern music server", VERSION)
        .with_file("/app/navidrome", binary)
        .with_exposed_port(4533)
        .with_default_args(&["/app/navidrome"])
}
