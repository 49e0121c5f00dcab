#!/usr/bin/env bash
# Benchmark: write latency under contention. Registers seizures (one write transaction each)
# from 1, 8 and 64 concurrent connections with wrk (bench/register.lua) against a seeded
# database, and reports p50, p99 and max latency and the server's memory (see bench/RESULTS.md).
# Needs wrk (`apt-get install wrk`).
#
#   DIR=/tmp/bench-perf SEIZURES=100000 bash bench/writes.sh   # seeds DIR once, then measures
#   BIN=/tmp/lims-before bash bench/writes.sh                    # another build, same database
#   DIR=/tmp/bench-pg DATABASE_URL=postgres://postgres@127.0.0.1/lims_bench bash bench/writes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-/tmp/bench-perf}
SEIZURES=${SEIZURES:-100000}
PORT=${PORT:-18182}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-"1 8 64"}
BIN=${BIN:-target/release/lims}
[ "$BIN" = target/release/lims ] && cargo build --release -q
export DATABASE_URL=${DATABASE_URL:-sqlite://$DIR/lims.db}
export LIMS_DATA_DIR=${LIMS_DATA_DIR:-$DIR/data} RUST_LOG=warn
base="http://127.0.0.1:$PORT"
mkdir -p "$DIR"
if [ ! -s "$DIR/seed.txt" ]; then
  "$BIN" seed-demo --seizures "$SEIZURES" > "$DIR/seed.txt" 2>/dev/null
fi
password=$(awk '$1=="tecnico1" {print $3}' "$DIR/seed.txt")
"$BIN" serve --bind "127.0.0.1:$PORT" > "$DIR/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
jar=$(mktemp)
csrf=$(curl -s -c "$jar" -b "$jar" "$base/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "username=tecnico1" --data-urlencode "password=$password" "$base/login"
# Signing in starts a new session with a new CSRF token: read it from the form.
csrf=$(curl -s -c "$jar" -b "$jar" "$base/seizures/new" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
[ -n "$csrf" ] || { echo "sign-in failed (no form at /seizures/new)" >&2; exit 1; }
export CSRF=$csrf COOKIE="lims_session=$(awk '$6=="lims_session" {print $7}' "$jar")"
# One request first, so a refused form shows here rather than as a column of errors.
status=$(RUN="check$(date +%s%N)" wrk -t 1 -c 1 -d 1s -s bench/register.lua "$base/seizures" | grep -o 'errors=[0-9]*')
[ "$status" = errors=0 ] || { echo "the form was refused ($status)" >&2; exit 1; }
rss() { awk -v k="$1:" '$1==k {printf "%d", $2/1024}' "/proc/$pid/status"; }
echo "idle RSS after sign-in: $(rss VmRSS) MB"
echo
echo "| writers | requests | errors | p50 | p99 | max | RSS after | peak RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNECTIONS; do
  t=$(( c < 2 ? c : 2 ))
  line=$(RUN="$(date +%s%N)" wrk -t "$t" -c "$c" -d "$DURATION" --timeout 60s \
    -s bench/register.lua "$base/seizures" | grep '^RESULT')
  get() { echo "$line" | grep -o "$1=[0-9.]*" | cut -d= -f2; }
  printf "| %s | %s | %s | %s ms | %s ms | %s ms | %s MB | %s MB |\n" "$c" "$(get requests)" \
    "$(get errors)" "$(get p50)" "$(get p99)" "$(get max)" "$(rss VmRSS)" "$(rss VmHWM)"
done
rm -f "$jar"
