#!/usr/bin/env bash
# Benchmark: container-list --json over N images x 50 tags, with a 20 ms delay in front
# of every registry request, for N = 10, 40, 160, 640.
#
# Seeds a local registry (Debian's docker-registry, loopback, temporary storage) with
# 640 images of 50 tags each, built "at" real commits of a generated git history (2,000
# commits on main, 20 on a branch), puts testkit's delay-proxy in front, and times
# `container-list --all --json` with hyperfine. Also prints the in-process git work
# (walking main + marking every tag) from --debug.
#
# Targets: 40 images in at most 45 ms (the probe goes out alongside the tag requests,
# so a listing is one round trip per --concurrency images, not one more), 640 images in
# at most 200 ms; git work under 5 ms for 2,000 tags.
#
# usage: bench/container-list.sh   (env: DELAY_MS=20 TAGS=50 IMAGES="10 40 160 640" RUNS=10
#                                        COMMITS=2000 CONCURRENCY=<the tool's default>
#                                        BIN_DIR=<prebuilt binaries instead of a build>
#                                        BASELINE=<another container-list binary, timed
#                                                  beside this one on the same data>)
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
delay_ms=${DELAY_MS:-20}
tags=${TAGS:-50}
sizes=${IMAGES:-"10 40 160 640"}
runs=${RUNS:-10}
commits=${COMMITS:-2000}
max_images=0
for n in $sizes; do ((n > max_images)) && max_images=$n; done

command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed" >&2; exit 2; }
if [[ -n ${BIN_DIR:-} ]]; then
    bin=$BIN_DIR
else
    cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p container-list -p testkit --bins
    bin="$root/target/release"
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Start a helper that prints its address on the first line; sets $addr to that line.
start_helper() {
    local out=$1; shift
    "$@" >"$out" &
    pids+=($!)
    for _ in $(seq 300); do [[ -s $out ]] && break; sleep 0.05; done
    [[ -s $out ]] || { echo "bench: $1 did not start" >&2; exit 3; }
    addr=$(head -n1 "$out")
}

start_helper "$work/registry.addr" "$bin/local-registry"
registry=$addr

# The ops repository: one container per image and a history to mark tags against.
repo="$work/ops"
mkdir -p "$repo"
git -C "$repo" init -q -b main
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
for ((i = 0; i < max_images; i++)); do
    mkdir -p "$repo/containers/img-$(printf %03d "$i")"
    echo "FROM scratch" >"$repo/containers/img-$(printf %03d "$i")/Dockerfile"
done
git -C "$repo" add -A && git -C "$repo" commit -q -m containers
# $COMMITS commits on main and 20 on a branch off main~10, written by fast-import.
history() {
    local branch=$1 from=$2 count=$3 c
    echo "reset refs/heads/$branch"
    echo "from $from"
    for ((c = 0; c < count; c++)); do
        printf 'commit refs/heads/%s\ncommitter bench <bench@example.invalid> %d +0000\n' "$branch" $((1767225600 + c * 60))
        printf 'data <<EOM\n%s %d\nEOM\n\n' "$branch" "$c"
    done
}
history main "$(git -C "$repo" rev-parse HEAD)" "$commits" | git -C "$repo" fast-import --quiet
history feature "$(git -C "$repo" rev-parse main~10)" 20 | git -C "$repo" fast-import --quiet
git -C "$repo" reset -q --hard main
git -C "$repo" gc -q  # packed, as a real clone is
mapfile -t commits < <(git -C "$repo" rev-list --all | cut -c1-7)

echo "bench: seeding $max_images images x $tags tags into $registry ..." >&2
seed_started=$(date +%s)
for ((i = 0; i < max_images; i++)); do
    for ((j = 0; j < tags; j++)); do
        suffix=""; ((j % 2)) && suffix="-nix"
        sha=${commits[$(((i * 7 + j) % ${#commits[@]}))]}
        echo "bench/img-$(printf %03d "$i"):v1.$((j / 2)).0-$sha$suffix"
    done
done | "$bin/registry-seed" --registry "http://$registry"
echo "bench: seeded in $(($(date +%s) - seed_started)) s" >&2

start_helper "$work/proxy.addr" "$bin/delay-proxy" --upstream "http://$registry" --delay-ms "$delay_ms"
proxy=$addr
# The same proxy without the delay: what the registry and the tool take on their own.
start_helper "$work/proxy0.addr" "$bin/delay-proxy" --upstream "http://$registry" --delay-ms 0
proxy0=$addr

common=(--registry "$proxy" --image-prefix bench --repo-root "$repo" --all --json)
[[ -n ${CONCURRENCY:-} ]] && common+=(--concurrency "$CONCURRENCY")
for n in $sizes; do
    names=()
    # All images: no names (every container); fewer: name the first n.
    if ((n < max_images)); then
        for ((i = 0; i < n; i++)); do names+=("img-$(printf %03d "$i")"); done
    fi
    cmd=$(printf '%q ' "$bin/container-list" "${common[@]}" "${names[@]}")
    listed=$($cmd | grep -c '"tag":')
    git_line=$($cmd --debug 2>&1 >/dev/null | grep '^debug: git:')
    requests=$($cmd --debug 2>&1 >/dev/null | grep -c '^debug: GET')
    echo
    echo "== $n images, $listed tags, $requests requests, ${delay_ms} ms delay per request"
    echo "   ${git_line#debug: }"
    cmds=("$cmd")
    if [[ -n ${BASELINE:-} ]]; then
        base=$(printf '%q ' "$BASELINE" "${common[@]}" "${names[@]}")
        base_requests=$($base --debug 2>&1 >/dev/null | grep -c '^debug: GET')
        echo "   baseline: $base_requests requests"
        cmds=("$base" "$cmd")
    fi
    # What the same run takes with no delay at all (the registry's own work on this
    # machine), and how many round trips the delay must add at least.
    undelayed=${cmd//"$proxy"/"$proxy0"}
    hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/h0.json" "$undelayed" >/dev/null 2>&1
    hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/h.json" "${cmds[@]}" 2>&1 | grep -E 'Time|Range'
    python3 - "$work/h.json" "$delay_ms" "$work/h0.json" "$requests" "${CONCURRENCY:-64}" "${BASELINE:+baseline}" <<'PY'
import json, math, sys
results = json.load(open(sys.argv[1]))["results"]
delay = float(sys.argv[2])
undelayed = json.load(open(sys.argv[3]))["results"][0]["mean"] * 1000
rounds = math.ceil(int(sys.argv[4]) / int(sys.argv[5]))
labels = ["baseline", "this build"] if sys.argv[6:] and sys.argv[6] else ["this build"]
for label, result in zip(labels, results):
    mean = result["mean"] * 1000
    print(f"   {label}: mean {mean:.0f} ms = {mean / delay:.1f} x the per-request delay")
print(f"   no delay: {undelayed:.0f} ms (the registry's and the tool's own work); "
      f"{rounds} round trip(s) of {delay:.0f} ms at this concurrency")
PY
done
