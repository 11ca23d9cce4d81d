#!/bin/bash
# The GPU machine's check for the spine, as one command (see docs/gpu.md):
#   bash benchmarks/gpu/run.sh        (in the repo root on the device; .gpu/ carried, $OUT set)
# 1. build llama-cpp-python with CUDA (skipped when /tmp/site already has it: a warm rerun),
# 2. the engine's equivalence tests with every layer on the GPU (again with flash attention off if they fail),
# 3. the segfault reproduction on a Qwen2.5-0.5B-shaped Q4_K_M model,
# 4. the scoring benchmark on the GPU: the 50M synthetic model and the 0.5B-shaped one.
# Every step has a time cap inside BUDGET_S (default 570 s); logs land in $OUT, one file per step.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
T0=$(date +%s); END=$((T0 + ${BUDGET_S:-570}))
S=$OUT/summary.txt
step() {  # step NAME CAP_S CMD...: runs CMD with stdout+stderr to $OUT/NAME.txt under a cap
  local name=$1 cap=$2 left; shift 2
  left=$(( END - $(date +%s) ))
  if [ "$left" -lt 25 ]; then echo "skipped $name: ${left} s left" | tee -a "$S"; return 99; fi
  [ "$cap" -gt "$left" ] && cap=$left
  echo "== $name (cap ${cap} s) at +$(( $(date +%s) - T0 )) s" | tee -a "$S"
  timeout -k 5 "$cap" "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
  echo "   $name rc=$rc at +$(( $(date +%s) - T0 )) s" | tee -a "$S"
  tail -n 12 "$OUT/$name.txt"
  return $rc
}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; python3 --version; } >> "$S" 2>&1
if [ -f /tmp/site/llama_cpp/__init__.py ]; then echo "build: reusing /tmp/site" | tee -a "$S"
else step build 420 bash .gpu/build-cuda.sh .gpu || exit 1; fi
python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/gguf-*.whl >> "$S" 2>&1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 EMERGETUI_TEST_GPU_LAYERS=-1
python3 -c "import llama_cpp; print('gpu offload:', llama_cpp.llama_supports_gpu_offload())" | tee -a "$S"
TESTS="tests/engine tests/probe/test_capture.py"
step tests 150 python3 -m pytest -q -p no:cacheprovider $TESTS \
  || EMERGETUI_TEST_FLASH_ATTN=0 step tests-fa-off 120 python3 -m pytest -q -p no:cacheprovider $TESTS
step write-05b 90 python3 benchmarks/scoring.py --synthetic qwen0.5b --write-synthetic /tmp/q05.gguf
step segv 150 python3 benchmarks/gpu/segv_repro.py /tmp/q05.gguf --timeout 45
step bench-50m 80 python3 benchmarks/scoring.py --n-gpu-layers -1 --items 300 --naive-items 2 --repeat 3
step bench-05b 100 python3 benchmarks/scoring.py /tmp/q05.gguf --n-gpu-layers -1 --items 300 --naive-items 2 --repeat 3
echo "done at +$(( $(date +%s) - T0 )) s" | tee -a "$S"
