//! The pieces native pipelines are built from.
//!
//! Each helper names its stage and steps through [`Pipeline::exec`], so a failure deep
//! in a multi-stage build is reported as, say, step 'npm ci' of stage 'ui'. Base images
//! are pinned here, in one place, so every pipeline moves to a new Alpine or Go together.

use crate::{Container, Directory, File, Pipeline};

/// The runtime base of native images.
pub const ALPINE_IMAGE: &str = "alpine:3.22";
/// Go builds (with musl, to run on [`ALPINE_IMAGE`]).
pub const GO_IMAGE: &str = "golang:1.25-alpine3.22";
/// Node builds of web UIs.
pub const NODE_IMAGE: &str = "node:22-alpine3.22";

/// A cache volume shared by every build on this engine, named for what it holds.
pub fn cache(pipeline: &Pipeline, key: &str) -> dagger_sdk::CacheVolume {
    pipeline.client().cache_volume(format!("opskit-{key}"))
}

/// The upstream source of an app at its version tag, cloned by the engine.
pub fn source_at_tag(pipeline: &Pipeline, url: &str, tag: &str) -> Directory {
    pipeline.client().git(url).tag(tag).tree()
}

/// `npm ci` and `npm run build` of the package in `dir` under `source` (stage `ui`);
/// returns its `build/` output.
pub fn node_build(pipeline: &Pipeline, source: &Directory, dir: &str) -> Directory {
    let workdir = format!("/src/{}", dir.trim_matches('/'));
    let node = pipeline
        .client()
        .container()
        .from(NODE_IMAGE)
        .with_directory("/src", source.clone())
        .with_workdir(&workdir)
        .with_mounted_cache("/root/.npm", cache(pipeline, "npm"));
    let installed = pipeline.exec(
        &node,
        "ui",
        "npm ci",
        &["npm", "ci", "--no-audit", "--no-fund"],
    );
    let built = pipeline.exec(&installed, "ui", "npm run build", &["npm", "run", "build"]);
    built.directory(format!("{workdir}/build"))
}

/// A `go build` of the module in `source`, configured by its methods, producing the
/// binary at `output` (stage `backend`).
pub fn go_build<'p>(pipeline: &'p Pipeline, source: &Directory, output: &str) -> GoBuild<'p> {
    GoBuild {
        pipeline,
        source: source.clone(),
        output: output.to_owned(),
        tags: Vec::new(),
        ldflags: String::new(),
        cgo_packages: None,
    }
}

/// See [`go_build`].
pub struct GoBuild<'p> {
    pipeline: &'p Pipeline,
    source: Directory,
    output: String,
    tags: Vec<String>,
    ldflags: String,
    cgo_packages: Option<Vec<String>>,
}

impl GoBuild<'_> {
    /// Build tags, comma-separated as `go build -tags` takes them.
    pub fn tags(mut self, tags: &str) -> Self {
        self.tags = tags.split(',').map(str::to_owned).collect();
        self
    }

    pub fn ldflags(mut self, ldflags: &str) -> Self {
        self.ldflags = ldflags.to_owned();
        self
    }

    /// Build with cgo, against these Alpine `-dev` packages.
    pub fn cgo(mut self, packages: &[&str]) -> Self {
        self.cgo_packages = Some(packages.iter().map(|p| (*p).to_owned()).collect());
        self
    }

    /// The built binary.
    pub fn file(self) -> File {
        let pipeline = self.pipeline;
        let mut go = pipeline
            .client()
            .container()
            .from(GO_IMAGE)
            .with_mounted_cache("/go/pkg/mod", cache(pipeline, "go-mod"))
            .with_mounted_cache("/root/.cache/go-build", cache(pipeline, "go-build"))
            .with_env_variable(
                "CGO_ENABLED",
                if self.cgo_packages.is_some() {
                    "1"
                } else {
                    "0"
                },
            );
        if let Some(packages) = &self.cgo_packages {
            let mut apk = vec!["apk", "add", "--no-cache", "build-base"];
            apk.extend(packages.iter().map(String::as_str));
            go = pipeline.exec(&go, "backend", "install cgo packages", &apk);
        }
        let go = go.with_directory("/src", self.source).with_workdir("/src");
        let downloaded = pipeline.exec(
            &go,
            "backend",
            "go mod download",
            &["go", "mod", "download"],
        );
        let tags = self.tags.join(",");
        let mut args = vec!["go", "build", "-trimpath", "-o", self.output.as_str()];
        if !tags.is_empty() {
            args.extend(["-tags", tags.as_str()]);
        }
        if !self.ldflags.is_empty() {
            args.extend(["-ldflags", self.ldflags.as_str()]);
        }
        args.push(".");
        pipeline
            .exec(&downloaded, "backend", "go build", &args)
            .file(self.output.as_str())
    }
}

/// An Alpine runtime image with `packages` installed (stage `runtime`).
pub fn alpine_runtime(pipeline: &Pipeline, packages: &[&str]) -> Container {
    let base = pipeline.client().container().from(ALPINE_IMAGE);
    if packages.is_empty() {
        return base;
    }
    let mut apk = vec!["apk", "add", "--no-cache"];
    apk.extend_from_slice(packages);
    pipeline.exec(&base, "runtime", "apk add", &apk)
}

/// A system user `name` with `uid`, and the image set to run as it (stage `runtime`).
pub fn run_as(pipeline: &Pipeline, container: &Container, uid: u32, name: &str) -> Container {
    let uid = uid.to_string();
    let args = ["adduser", "-D", "-H", "-u", uid.as_str(), name];
    pipeline
        .exec(container, "runtime", "add user", &args)
        .with_user(name)
}

/// The OCI labels every image of the suite carries. No creation time: two builds of
/// one commit should be the same image.
pub fn oci_labels(
    container: Container,
    title: &str,
    description: &str,
    version: &str,
) -> Container {
    container
        .with_label("org.opencontainers.image.title", title)
        .with_label("org.opencontainers.image.description", description)
        .with_label("org.opencontainers.image.version", version)
}
