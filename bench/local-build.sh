#!/usr/bin/env bash
# The tool's own cost of a `--local` build, engine time excluded: everything
# container-build-and-release does around the engine (the commit's tree written from
# git, the version and tag, the engine session, the queries) against testkit's fake
# Dagger engine, which answers at once. Prints hyperfine's numbers per build kind.
#
#   bash bench/local-build.sh            # RUNS=20 by default
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-20}
cargo build --quiet --release --manifest-path "$root/Cargo.toml" \
  -p container-build-and-release -p testkit --bin container-build-and-release --bin fake-dagger-engine
bin=$root/target/release

fifo=$(mktemp -u)
mkfifo "$fifo"
"$bin/fake-dagger-engine" >"$fifo" &
engine=$!
trap 'kill $engine 2>/dev/null; rm -f "$fifo"' EXIT
read -r session <"$fifo"
# shellcheck disable=SC2086
export $session

cd "$root"
export REGISTRY=127.0.0.1:5999 IMAGE_PREFIX=opskit
for build in "kubectl --kind dockerfile" "miniflux --kind native" "kiwix-serve --kind nix"; do
  hyperfine -N --warmup 3 --runs "$runs" \
    "$bin/container-build-and-release $build --local --publish" 2>/dev/null |
    sed -n '1,3p'
done
