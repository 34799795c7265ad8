//! The three ways a container is built: its Dockerfile, its `default.nix`, or its
//! native Rust pipeline. Each takes the container's directory as it is in the commit
//! being built and returns the image, lazily: nothing runs until it is published,
//! exported or synced.

use dagger_sdk::{BuildArg, DirectoryDockerBuildOpts};
use opskit::containers::BuildKind;
use opskit::error::{Error, Result};

use crate::{Container, Directory, File, Pipeline, native};

/// The nix image nix builds run in, pinned like every base image.
pub const NIX_IMAGE: &str = "nixos/nix:2.28.3";

/// Where a nix build's image archive is copied to: a plain file in the container's own
/// filesystem, not the `result` symlink into /nix/store and not under a cache mount,
/// either of which would leave nothing to read out.
const NIX_ARCHIVE: &str = "/opskit/image.tar.gz";

/// An image, and for nix builds the docker-archive it was imported from (which is what
/// `--export` writes, as `docker load` accepts it unchanged).
pub struct Built {
    pub image: Container,
    pub archive: Option<File>,
}

/// What a build needs besides the container's directory.
pub struct Inputs<'a> {
    /// The version the build declares (a Dockerfile's `CONTAINER_APP_VERSION`).
    pub version: &'a str,
    /// NIX_PATH's `nixpkgs=` for nix builds.
    pub nixpkgs: &'a str,
}

/// How one container is built, settled before the engine is asked anything.
#[derive(Clone, Copy)]
pub enum Recipe {
    Dockerfile,
    Nix,
    Native(&'static native::NativePipeline),
}

impl Recipe {
    /// The recipe for `kind`; a native kind needs its pipeline compiled into this tool.
    pub fn for_kind(kind: BuildKind, container: &str) -> Result<Recipe> {
        match kind {
            BuildKind::Dockerfile => Ok(Recipe::Dockerfile),
            BuildKind::Nix => Ok(Recipe::Nix),
            BuildKind::Native => native::find(container).map(Recipe::Native).ok_or_else(|| {
                Error::usage(format!(
                    "containers/{container}/container.rs is not compiled into this build of the tool"
                ))
                .hint("native pipelines are compiled in: rebuild the tool from this checkout (cargo build -p container-build-and-release)")
            }),
        }
    }
}

/// Builds `context` (the container's directory) by `recipe`.
pub fn build(
    pipeline: &Pipeline,
    recipe: Recipe,
    context: Directory,
    inputs: &Inputs<'_>,
) -> Built {
    match recipe {
        Recipe::Dockerfile => Built {
            image: dockerfile(context, inputs.version),
            archive: None,
        },
        Recipe::Nix => {
            let archive = nix_archive(pipeline, context, inputs.nixpkgs);
            Built {
                image: pipeline.client().container().import(archive.clone()),
                archive: Some(archive),
            }
        }
        Recipe::Native(native) => Built {
            image: (native.build)(pipeline, context),
            archive: None,
        },
    }
}

/// Dagger's docker build of the directory, with the version as a build argument.
pub fn dockerfile(context: Directory, version: &str) -> Container {
    context.docker_build_opts(DirectoryDockerBuildOpts {
        build_args: Some(vec![BuildArg {
            name: "CONTAINER_APP_VERSION".to_owned(),
            value: version.to_owned(),
        }]),
        dockerfile: None,
        no_init: None,
        platform: None,
        secrets: None,
        ssh: None,
        target: None,
    })
}

/// `nix-build` of `default.nix` in a pinned nix container; the docker-archive it makes.
pub fn nix_archive(pipeline: &Pipeline, context: Directory, nixpkgs: &str) -> File {
    let nix = pipeline
        .client()
        .container()
        .from(NIX_IMAGE)
        .with_directory("/src", context)
        .with_workdir("/src")
        .with_env_variable("NIX_PATH", format!("nixpkgs={nixpkgs}"));
    let built = pipeline.exec(
        &nix,
        "nix",
        "nix-build",
        &["nix-build", "default.nix", "--out-link", "/tmp/result"],
    );
    let copied = pipeline.exec(
        &built,
        "nix",
        "copy the image out",
        &[
            "sh",
            "-c",
            &format!("mkdir -p /opskit && cp -L /tmp/result {NIX_ARCHIVE}"),
        ],
    );
    copied.file(NIX_ARCHIVE)
}
