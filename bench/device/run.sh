#!/usr/bin/env bash
# On the device machine (16 cores, no Node): the 1–16 worker table beside PyTorch at 1–16 threads
# (issue 10), the product's GFLOP/s on that CPU, and the checks that make those numbers count.
# Prepared here by `node bench/device/prepare.mjs` (.device/node.xz, .device/bundle.tar.xz); run
# there from the repository root with `carry: [".device"]`:
#
#   bash bench/device/run.sh [workloads] [workers]     (default bilstm-b256,charlm-b128 and 1,2,4,8,16)
#
# Writes under $OUT (default ./device-out): machine.txt, check.txt, gemm.txt, scaling.md, scaling.json.
# The checks run first and a failure stops the run: a number from kernels that do not agree with
# the reference is not worth the machine's time.
set -euo pipefail
WORKLOADS=${1:-bilstm-b256,charlm-b128}
WORKERS=${2:-1,2,4,8,16}
OUT=${OUT:-device-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for f in .device/node.xz .device/bundle.tar.xz; do
  [ -f "$f" ] || { echo "run.sh: $f is missing: run node bench/device/prepare.mjs first and carry .device" >&2; exit 2; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Python's lzma, not xz(1): the device may lack xz.
python3 -c "import lzma,shutil,tarfile;shutil.copyfileobj(lzma.open('.device/node.xz'),open('$WORK/node','wb'));tarfile.open('.device/bundle.tar.xz').extractall('$WORK')"
chmod +x "$WORK/node"
NODE=$WORK/node
cd "$WORK/bundle"

{
  date -u +%FT%TZ
  "$NODE" --version
  nproc
  grep -m1 'model name' /proc/cpuinfo || true
  { grep -m1 -o -w -E 'avx512f|avx2' /proc/cpuinfo || true; } | sort -u | tr '\n' ' '; echo
  cat /proc/loadavg
  python3 -c 'import torch; print("torch", torch.__version__)' 2>&1 | tail -1 || true
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

"$NODE" check.mjs 2>&1 | tee "$OUT/check.txt"
"$NODE" node_modules/@weft/core/bench/gemm.mjs --quick 2>&1 | tee "$OUT/gemm.txt"
"$NODE" bench/src/run.mjs --workloads "$WORKLOADS" --workers "$WORKERS" --kernels native --warmup 2 --steps 5 \
  --torch auto --tfjs none --markdown "$OUT/scaling.md" --json "$OUT/scaling.json" 2>&1 | tail -40
