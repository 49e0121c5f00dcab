#!/usr/bin/env bash
# Benchmark: rendering a typical issued report (2 samples, 8 results, 2 signatures, QR code)
# as PDF/A-2b, $RUNS times in one process after a warm-up; prints median, p95 and maximum.
# The figure is kept in bench/RESULTS.md.
#
#   bash bench/report_pdf.sh
#   RUNS=1000 bash bench/report_pdf.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export RUNS=${RUNS:-200}
cargo test --release -q --test app report_pdf::render_time -- --ignored --nocapture 2>&1 \
    | grep 'report PDF render'
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
