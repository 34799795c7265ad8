#!/usr/bin/env bash
# Benchmark: opskit::pack (the docs tarball of `release-docs build`) over a generated
# site of FILES files, MB megabytes in all, in DIRS directories, with hyperfine.
#
# The tree mixes what a Quartz site has: many small HTML pages of text (which compress
# well) and a few large binary assets (random bytes, which do not). Before timing, it
# checks what the packer promises: two packs of the tree have one sha256, and so does a
# copy of it made in reverse order with every mtime changed.
#
# Target: 5,000 files / 50 MB packed in under 2 s on one core (gzip level 6 dominates;
# measured 1.37 s with zlib-rs, 1.82 s with miniz_oxide, on a loaded 2-core machine).
#
# usage: bench/docs-pack.sh   (env: FILES=5000 MB=50 DIRS=50 RUNS=5
#                                    PROFILE=release, or dev for a quick look)
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
files=${FILES:-5000}
mb=${MB:-50}
dirs=${DIRS:-50}
runs=${RUNS:-5}
profile=${PROFILE:-release}

command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed" >&2; exit 2; }
cargo build --quiet --profile "$profile" --manifest-path "$root/Cargo.toml" -p opskit --example pack
target_dir=$profile
[[ $profile == dev ]] && target_dir=debug
pack="$root/target/$target_dir/examples/pack"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
site="$work/site"

# 10 large assets carry 60% of the bytes; the other files share the rest.
echo "== generating $files files, $mb MB, in $dirs directories"
python3 - "$site" "$files" "$mb" "$dirs" <<'EOF'
import os, random, sys
site, files, mb, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(42)
total = mb * 1024 * 1024
assets = min(10, files)
asset_size = int(total * 0.6) // max(assets, 1)
page_size = (total - asset_size * assets) // max(files - assets, 1)
words = [w.encode() for w in "the docs site static page quartz release opskit container build".split()]
for d in range(dirs):
    os.makedirs(os.path.join(site, f"section-{d:03}"), exist_ok=True)
for i in range(files):
    path = os.path.join(site, f"section-{i % dirs:03}", f"page-{i:05}.html")
    if i < assets:
        data = rng.randbytes(asset_size)
        path = path.replace(".html", ".png")
    else:
        out = bytearray(b"<html><body>\n")
        while len(out) < page_size:
            out += b" ".join(rng.choice(words) for _ in range(12)) + b"\n"
        data = bytes(out[:page_size])
    with open(path, "wb") as f:
        f.write(data)
EOF
du -sh "$site" | sed 's/^/   /'

echo "== reproducibility"
first=$("$pack" "$site" "$work/a.tar.gz")
second=$("$pack" "$site" "$work/b.tar.gz")
# The same files, written in the reverse order with other mtimes.
copy="$work/copy"
mkdir "$copy"
(cd "$site" && find . -type d | sort -r | while read -r d; do mkdir -p "$copy/$d"; done)
(cd "$site" && find . -type f | sort -r | while read -r f; do cp "$f" "$copy/$f"; done)
find "$copy" -exec touch -d '2001-02-03 04:05:06' {} +
third=$("$pack" "$copy" "$work/c.tar.gz")
echo "   pack 1:         $first"
echo "   pack 2:         $second"
echo "   reversed copy:  $third"
if [[ $first != "$second" || $first != "$third" ]]; then
    echo "bench: the packs differ" >&2
    exit 1
fi
echo "   same sha256: yes"

echo "== packing (hyperfine, $runs runs)"
hyperfine --style basic --warmup 1 --runs "$runs" -N \
    "$pack $site $work/t.tar.gz" 2>&1 | grep -E 'Time|Range'
