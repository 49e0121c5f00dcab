#!/usr/bin/env bash
# Benchmark: how fast `seed-demo` fills a lab, and how fast the lists, deep pages, search and
# a sample page answer at two database sizes. Prints a Markdown table (see bench/RESULTS.md).
#
#   bash bench/lists.sh                      # SQLite, 1,000 and 100,000 seizures
#   SIZES="1000 10000" bash bench/lists.sh   # other sizes
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/lims_bench bash bench/lists.sh
#     (PostgreSQL: the database is dropped and re-created for each size)
#   DIR=/tmp/bench-perf SIZES=100000 BIN=/tmp/lims-before bash bench/lists.sh
#     (a folder seeded before, e.g. by bench/writes.sh, measured as it is with another build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 100000"}
PORT=${PORT:-18181}
REPEAT=${REPEAT:-7}
DEEP=${DEEP:-1900}
bin=${BIN:-target/release/lims}
[ "$bin" = target/release/lims ] && cargo build --release -q
base="http://127.0.0.1:$PORT"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Median wall time in milliseconds of GET $1 with the session cookie.
measure() {
  for _ in $(seq "$REPEAT"); do
    curl -s -o /dev/null -b "$jar" -w '%{time_total}\n' "$base$1"
  done | median | awk '{printf "%.1f", $1 * 1000}'
}

echo "| seizures | samples | seed time | /samples | /samples?status=received | /samples?overdue=1 | 20th page of /samples | page $DEEP of /samples | /seizures?office=… | /search (lab code) | sample page |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
  dir=${DIR:-$(mktemp -d)}
  if [ -n "${DIR:-}" ]; then
    export DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$dir/lims.db}
  elif [ -n "${BENCH_DATABASE_URL:-}" ]; then
    name=${BENCH_DATABASE_URL##*/}
    admin=${BENCH_DATABASE_URL%/*}/postgres
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    export DATABASE_URL=$BENCH_DATABASE_URL
  else
    export DATABASE_URL="sqlite://$dir/lims.db"
  fi
  export LIMS_DATA_DIR="$dir/data" RUST_LOG=warn
  if [ -s "$dir/seed.txt" ]; then
    seed="–"
  else
    start=$(date +%s)
    "$bin" seed-demo --seizures "$n" > "$dir/seed.txt" 2>/dev/null
    seed="$(( $(date +%s) - start )) s"
  fi
  password=$(awk '$1=="tecnico1" {print $3}' "$dir/seed.txt")
  "$bin" serve --bind "127.0.0.1:$PORT" > "$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
  jar="$dir/cookies"
  rm -f "$jar"
  csrf=$(curl -s -c "$jar" -b "$jar" "$base/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" \
    --data-urlencode "username=tecnico1" --data-urlencode "password=$password" "$base/login"
  # The links to the 20th and the $DEEP-th page, following "older" links as a user would (on a
  # smaller database the deep page is the last one).
  page="/samples"
  for i in $(seq 2 "$DEEP"); do
    next=$(curl -s -b "$jar" "$base$page" | grep -o 'href="/samples?[^"]*after=[^"]*"' | tail -1 | sed 's/href="//; s/"$//; s/&#38;/\&/g; s/&amp;/\&/g')
    [ -n "$next" ] && page=$next
    [ "$i" = 20 ] && page20=$page
  done
  deep=$page
  samples=$(curl -s -b "$jar" "$base/samples" | grep -o 'href="/samples/[0-9a-f-]*"' | head -1 | sed 's/href="//; s/"$//')
  code=$(curl -s -b "$jar" "$base$samples" | grep -o 'LAB-[0-9]*-[0-9]*' | head -1)
  total=$(awk '/Demo laboratory ready/ {print $7}' "$dir/seed.txt")
  status=$(curl -s -o /dev/null -b "$jar" -w '%{http_code}' "$base/samples")
  [ "$status" = 200 ] || { echo "sign-in failed (GET /samples answered $status)" >&2; kill "$pid"; exit 1; }
  office="Intendencia%20de%20Aduana%20de%20Tacna"
  printf "| %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms |\n" \
    "$n" "$total" "$seed" \
    "$(measure /samples)" "$(measure '/samples?status=received')" "$(measure '/samples?overdue=1')" \
    "$(measure "$page20")" "$(measure "$deep")" "$(measure "/seizures?office=$office")" \
    "$(measure "/search?q=$code")" "$(measure "$samples")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "${DIR:-}" ] || rm -rf "$dir"
done
