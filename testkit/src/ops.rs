//! A small ops repository, made fresh for each test: containers of every build kind and
//! a matching `service-versions.yaml`, committed on `main`.

use crate::git::GitRepo;

/// The service file for [`ops_repo`]; tests edit copies of it.
pub const SERVICES: &str = "\
untracked-containers: [tools]
services:
  - name: web
    type: argocd
    last-reviewed: 2026-11-01
    current-version: \"v1.2.3\"
    upstream-source: https://example.invalid/web
  - name: cache
    type: argocd
    last-reviewed: null
    current-version: \"7.2.5\"
    upstream-source: https://example.invalid/cache
    nixpkgs-package: redis
  - name: music
    type: argocd
    last-reviewed: 2026-10-01
    current-version: \"0.61.1\"
    upstream-source: https://example.invalid/music
    container: navi
  - name: torrent
    type: argocd
    last-reviewed: 2026-10-01
    current-version: \"4.1.1-r1\"
    upstream-source: https://example.invalid/torrent
";

/// A repository on `main` with five containers:
/// `web` (Dockerfile + default.nix, v1.2.3), `cache` (default.nix of an unmodified
/// nixpkgs package), `navi` (container.rs, service `music`), `torrent` (Dockerfile,
/// 4.1.1-r1) and `tools` (untracked).
pub fn ops_repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "containers/web/Dockerfile",
        "FROM alpine\nARG CONTAINER_APP_VERSION=1.2.3\n",
    )
    .write(
        "containers/web/default.nix",
        "{ pkgs }:\nlet version = \"v1.2.3\"; in pkgs.hello\n",
    )
    .write(
        "containers/cache/default.nix",
        "{ pkgs }: pkgs.dockerTools.buildImage { name = \"cache\"; contents = [ pkgs.redis ]; }\n",
    )
    .write(
        "containers/navi/container.rs",
        "pub const VERSION: &str = \"v0.61.1\";\n",
    )
    .write(
        "containers/torrent/Dockerfile",
        "FROM alpine AS a\nFROM alpine\nARG CONTAINER_APP_VERSION=\"4.1.1-r1\"\n",
    )
    .write(
        "containers/tools/Dockerfile",
        "ARG CONTAINER_APP_VERSION=2.0\n",
    )
    .write("service-versions.yaml", SERVICES)
    .write(
        "nixpkgs/default.nix",
        "{ ... }: { redis = { version = \"7.2.5\"; }; }\n",
    );
    repo.commit("initial ops repo");
    repo
}

/// `NIX_PATH` for [`ops_repo`]'s stand-in nixpkgs.
pub fn nix_path(repo: &GitRepo) -> String {
    format!("nixpkgs={}", repo.path().join("nixpkgs").display())
}
