#!/usr/bin/env bash
# Benchmark: the search box at one database size, exact, prefix and contains (see
# bench/RESULTS.md). Seeds with `seed-demo --seizures $SEIZURES` unless $DIR already holds a
# seeded lab, then times GET /search (median of $REPEAT requests, signed in as a technician).
#
#   bash bench/search.sh                                   # SQLite, 100,000 seizures
#   DIR=/tmp/bench-search bash bench/search.sh             # keep (or reuse) the database
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/lims_bench SEIZURES=10000 bash bench/search.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SEIZURES=${SEIZURES:-100000}
PORT=${PORT:-18182}
REPEAT=${REPEAT:-7}
bin=${BIN:-target/release/lims}
[ "$bin" = target/release/lims ] && cargo build --release -q
base="http://127.0.0.1:$PORT"
dir=${DIR:-$(mktemp -d)}
mkdir -p "$dir"
export DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$dir/lims.db}
export LIMS_DATA_DIR="$dir/data" RUST_LOG=warn
if [ ! -s "$dir/seed.txt" ]; then
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    name=${BENCH_DATABASE_URL##*/}
    admin=${BENCH_DATABASE_URL%/*}/postgres
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  fi
  start=$(date +%s)
  "$bin" seed-demo --seizures "$SEIZURES" > "$dir/seed.txt" 2>/dev/null
  echo "seeded $SEIZURES seizures in $(( $(date +%s) - start )) s" >&2
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {
  for _ in $(seq "$REPEAT"); do
    curl -s -o /dev/null -b "$jar" -w '%{time_total}\n' "$base$1"
  done | median | awk '{printf "%.1f", $1 * 1000}'
}
# How many results the page lists, and whether it says there are more.
listed() {
  local page
  page=$(curl -s -b "$jar" "$base$1")
  printf '%s%s' "$(grep -c '<tr><td>' <<<"$page" || true)" \
    "$(grep -q 'hay más' <<<"$page" && echo '+' || true)"
}

password=$(awk '$1=="tecnico1" {print $3}' "$dir/seed.txt")
"$bin" serve --bind "127.0.0.1:$PORT" > "$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
jar="$dir/cookies"
rm -f "$jar"
csrf=$(curl -s -c "$jar" -b "$jar" "$base/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "username=tecnico1" --data-urlencode "password=$password" "$base/login"
total=$(awk '/Demo laboratory ready/ {print $7}' "$dir/seed.txt")
sample=$(curl -s -b "$jar" "$base/samples" | grep -o 'href="/samples/[0-9a-f-]*"' | head -1 | sed 's/href="//; s/"$//')
code=$(curl -s -b "$jar" "$base$sample" | grep -o 'LAB-[0-9]*-[0-9]*' | head -1)
seal=$(curl -s -b "$jar" "$base$sample" | grep -o 'PR-[0-9]\{7\}' | head -1)
prefix=${seal:0:8}        # PR-12345: the first digits of a seal
contains=${code: -4}      # 0412: the end of a lab code
echo "| samples | exact lab code | prefix \`$prefix\` | contains \`$contains\` | contains \`LAB\` (broad) |"
echo "|---:|---:|---:|---:|---:|"
printf "| %s | %s ms | %s ms (%s) | %s ms (%s) | %s ms (%s) |\n" "$total" \
  "$(measure "/search?q=$code")" \
  "$(measure "/search?q=$prefix")" "$(listed "/search?q=$prefix")" \
  "$(measure "/search?q=$contains")" "$(listed "/search?q=$contains")" \
  "$(measure "/search?q=LAB")" "$(listed "/search?q=LAB")"
