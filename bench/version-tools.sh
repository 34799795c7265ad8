#!/usr/bin/env bash
# Benchmark: version-sync-check --all-files and container-version --all --json on a
# generated repo of N containers (default 200), a mix of Dockerfile, default.nix and
# container.rs builds with a matching service-versions.yaml. Prints hyperfine's
# numbers. Target: under 20 ms each.
#
#   bash bench/version-tools.sh [N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
count=${1:-200}

cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p container-version -p version-sync-check
bin="$root/target/release"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo/containers"
{
  echo "services:"
  for i in $(seq 1 "$count"); do
    name="app$i"
    version="1.$((i % 17)).$i"
    dir="$repo/containers/$name"
    mkdir -p "$dir"
    case $((i % 3)) in
      0) printf 'FROM alpine:3.22\nARG BASE=x CONTAINER_APP_VERSION="%s"\nRUN true\n' "$version" >"$dir/Dockerfile" ;;
      1) printf '{ pkgs ? import <nixpkgs> { } }:\npkgs.buildGoModule rec {\n  pname = "%s";\n  version = "%s";\n  meta = { version = "0"; };\n}\n' "$name" "$version" >"$dir/default.nix" ;;
      2) printf 'pub const VERSION: &str = "v%s";\npub fn build() {}\n' "$version" >"$dir/container.rs" ;;
    esac
    printf '  - name: %s\n    type: argocd\n    last-reviewed: 2026-11-01\n    current-version: "%s"\n    upstream-source: https://example.invalid/%s\n' "$name" "$version" "$name"
  done
} >"$repo/service-versions.yaml"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.invalid commit -q -m "bench repo"

echo "repo: $count containers"
cd "$repo"
"$bin/version-sync-check" --all-files >/dev/null
hyperfine -N --warmup 5 --runs 50 --style basic \
  "$bin/version-sync-check --all-files" \
  "$bin/container-version --all --json" \
  "$bin/container-version --all --tag --json"
