#!/usr/bin/env bash
# Benchmark: custody verification at scale. Seeds a demo lab (or reuses one), then times
# `verify-custody`, `custody-checkpoint` and `verify-custody --since`, with the peak memory of
# each. Prints a Markdown table (see bench/RESULTS.md).
#
#   bash bench/custody.sh                         # SQLite, 100,000 seizures (≈ 200,000 samples)
#   SEIZURES=1000 bash bench/custody.sh           # a smaller lab
#   DIR=/tmp/bench-custody bash bench/custody.sh  # keep (and reuse) the lab in DIR
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/lims_bench bash bench/custody.sh
#     (PostgreSQL: the database is dropped and re-created unless it was seeded in DIR before)
set -euo pipefail
cd "$(dirname "$0")/.."
SEIZURES=${SEIZURES:-100000}
DIR=${DIR:-$(mktemp -d)}
cargo build --release -q
bin=$PWD/target/release/lims
mkdir -p "$DIR"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  export DATABASE_URL=$BENCH_DATABASE_URL
else
  export DATABASE_URL="sqlite://$DIR/lims.db"
fi
export LIMS_DATA_DIR="$DIR/data" RUST_LOG=warn

# Wall seconds and peak resident memory (MB) of a command, as "seconds|MB".
timed() {
  /usr/bin/time -f '%e|%M' -o "$DIR/time.txt" "$@" > "$DIR/out.txt" 2>&1 || true
  awk -F'|' '{printf "%.1f s|%d MB", $1, $2 / 1024}' "$DIR/time.txt"
}

if [ ! -f "$DIR/seeded" ]; then
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    name=${BENCH_DATABASE_URL##*/}
    admin=${BENCH_DATABASE_URL%/*}/postgres
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  fi
  seed=$(timed "$bin" seed-demo --seizures "$SEIZURES")
  cp "$DIR/out.txt" "$DIR/seed.txt"
  echo "$seed" > "$DIR/seeded"
fi

rm -f "$DIR/checkpoint.txt"
verify=$(timed "$bin" verify-custody)
verify_out=$(tail -1 "$DIR/out.txt")
# Samples with sub-samples, and events, as verification counted them.
samples=$(echo "$verify_out" | awk '{print $1}')
events=$(echo "$verify_out" | awk '{print $4}')
checkpoint=$(timed "$bin" custody-checkpoint "$DIR/checkpoint.txt")
size=$(du -k "$DIR/checkpoint.txt" | awk '{printf "%.1f MB", $1 / 1024}')
since=$(timed "$bin" verify-custody --since "$DIR/checkpoint.txt")
since_out=$(tail -1 "$DIR/out.txt")

echo "| samples | custody events | seed | verify-custody | custody-checkpoint (file size) | verify-custody --since |"
echo "|---:|---:|---:|---:|---:|---:|"
echo "| $samples | $events | $(cut -d'|' -f1 "$DIR/seeded") | ${verify/|/, } | ${checkpoint/|/, } ($size) | ${since/|/, } |"
echo
echo "verify-custody: $verify_out"
echo "verify-custody --since: $since_out"
