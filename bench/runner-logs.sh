#!/usr/bin/env bash
# Benchmark: runner-logs against the Forgejo test server (testkit's fake-forgejo).
#
#  1. list 20 runs from a server holding 5,000 tasks (2,500 runs of two jobs), on the
#     v16 API (newest first) and the v14 API (oldest first): time per call (hyperfine)
#     and the number of HTTP requests (from --debug). Target: 1–2 requests of runs,
#     not the 100 pages the whole history would take.
#  2. stream a 200 MB job log to a pipe: throughput and peak RSS (/usr/bin/time -v).
#     Targets: over 200 MB/s on loopback, RSS under 32 MB.
#  3. the same log to /dev/null (hyperfine), raw and with colours stripped: the
#     stripper's cost. Target: stripped at 2.5 GB/s or more.
#
#   bash bench/runner-logs.sh [LOG_MB]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log_mb=${1:-200}
log_bytes=$((log_mb * 1024 * 1024))

cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p runner-logs -p testkit --bin runner-logs --bin fake-forgejo
bin="$root/target/release"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a fake forge; sets $url.
start_forge() {
  local out="$work/forge-$1.url"
  "$bin/fake-forgejo" --api "$1" --runs 2500 --log-bytes "$log_bytes" >"$out" &
  pids+=($!)
  for _ in $(seq 1 100); do
    [ -s "$out" ] && break
    sleep 0.05
  done
  url=$(head -1 "$out")
}

export OPSKIT_RETRIES=0
unset FORGEJO_TOKEN NO_COLOR || true

for api in 16 14; do
  start_forge "$api"
  rl=("$bin/runner-logs" --forge-url "$url" --repo acme/app)
  requests=$("${rl[@]}" --limit 20 --debug 2>&1 >/dev/null | grep -c '^debug: GET')
  rows=$("${rl[@]}" --limit 20 --json | grep -c '"number"')
  echo "== list 20 runs of 2,500 (5,000 tasks), Forgejo v$api API: $rows rows in $requests requests (incl. the version)"
  hyperfine --warmup 3 --runs 30 --style basic -N "${rl[*]} --limit 20" 2>&1 | grep -E 'Time|Range'
done

echo "== stream a $log_mb MB job log to a pipe (v16 API)"
start_forge 16
rl=("$bin/runner-logs" --forge-url "$url" --repo acme/app)
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "${rl[@]}" 1 -j 0 --color always | cat >/dev/null
end=$(date +%s.%N)
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
awk -v s="$start" -v e="$end" -v mb="$log_mb" -v rss="$rss_kb" 'BEGIN {
  t = e - s
  printf "raw (--color always):  %.2f s, %.0f MB/s, peak RSS %.1f MB\n", t, mb / t, rss / 1024
}'
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "${rl[@]}" 1 -j 0 | cat >/dev/null
end=$(date +%s.%N)
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
awk -v s="$start" -v e="$end" -v mb="$log_mb" -v rss="$rss_kb" 'BEGIN {
  t = e - s
  printf "colours stripped:      %.2f s, %.0f MB/s, peak RSS %.1f MB\n", t, mb / t, rss / 1024
}'

echo "== the $log_mb MB log to /dev/null, raw and stripped (hyperfine, v16 API)"
hyperfine --warmup 1 --runs 5 --style basic -N --export-json "$work/strip.json" \
  "${rl[*]} 1 -j 0 --color always" "${rl[*]} 1 -j 0" 2>&1 | grep -E 'Time|Range'
python3 - "$work/strip.json" "$log_mb" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
mb = float(sys.argv[2])
for label, r in zip(["raw (--color always)", "colours stripped"], results):
    print(f"{label:22} {r['mean']:.3f} s mean, {mb / 1024 / r['mean']:.2f} GB/s")
PY
