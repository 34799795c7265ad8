#!/usr/bin/env bash
# Benchmark: version-sync-check --all-files and container-version --all --json on
# generated repos of N containers, a mix of Dockerfile, default.nix and container.rs
# builds with a matching service-versions.yaml. Prints hyperfine's numbers per size.
#
# Targets: under 20 ms each at 200 containers; version-sync-check --all-files at most
# 300 ms at 20,000 (it was 2.1 s when each container scanned the whole service list).
#
# Measured 2026-12-01 on the shared 2-core build machine (load average 5-6, so wall
# times are inflated; CPU is user+sys), release builds, 20,000 containers:
#   version-sync-check --all-files   before 3.91 s (CPU 2.08 s)   after 450 ms (CPU 0.32 s)
#   container-version --all --tag --json   before 566 ms          after 597 ms (unchanged)
# and at 200 containers all three stay at 5-6 ms, before and after.
#
#   bash bench/version-tools.sh [N...]        # default: 200 20000
#   BENCH_BIN=/path/to/release/bin bash bench/version-tools.sh 20000   # other binaries
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200 20000)

if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p container-version -p version-sync-check
  bin="$root/target/release"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A repo of $1 containers at $2; builtins only inside the loop, so 20,000 take seconds.
generate() {
  local count=$1 repo=$2 i name version dir
  mkdir -p "$repo/containers"
  for i in $(seq 1 "$count"); do printf '%s\n' "$repo/containers/app$i"; done | xargs mkdir -p
  {
    echo "services:"
    for ((i = 1; i <= count; i++)); do
      name="app$i"
      version="1.$((i % 17)).$i"
      dir="$repo/containers/$name"
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
}

for count in "${sizes[@]}"; do
  repo="$work/repo-$count"
  generate "$count" "$repo"
  echo "repo: $count containers ($bin)"
  (
    cd "$repo"
    "$bin/version-sync-check" --all-files >/dev/null
    runs=50
    [ "$count" -le 1000 ] || runs=10
    hyperfine -N --warmup 2 --runs "$runs" --style basic \
      "$bin/version-sync-check --all-files" \
      "$bin/container-version --all --json" \
      "$bin/container-version --all --tag --json"
  )
done
