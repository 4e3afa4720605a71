#!/usr/bin/env bash
# swift-rlhf's benchmarks, then PyTorch / HF generate, llama.cpp and TRL on the same machine, back to
# back, and a table of ratios (tools/bench_compare.py). Takes ~20 minutes on 2 cores (TRL ~6 of them).
#
#   scripts/bench-compare.sh [OUTPUT_DIR]        (default runs/bench)
#   BASELINE_PYTHON   a Python with torch, transformers, trl, gguf and llama-cpp-python
#                     (shared/bench/README.md; default /tmp/baselines/bin/python)
#   LLAMA_PYTHON      the Python whose llama-cpp-python runs llama_bench.py (default BASELINE_PYTHON); where
#                     it crashes (llama.cpp 0.3.36's AMX kernels on quantized files, some Intel hosts) the run
#                     is repeated with weight repacking off (tools/llama_bench_without_repacking.py)
#   SKIP_TRL=1        leave out the TRL runs (~6 minutes)
# A baseline that fails is reported and the rest still run; its ratio is then missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/bench}"
PY="${BASELINE_PYTHON:-/tmp/baselines/bin/python}"
LLAMA_PY="${LLAMA_PYTHON:-$PY}"
BENCH="${BENCH_DIR:-../shared/bench}"
mkdir -p "$OUT"
"$PY" -c "import torch, transformers, llama_cpp" || { echo "bench-compare: $PY lacks torch/transformers/llama-cpp-python (see $BENCH/README.md)" >&2; exit 1; }
G="$(bash scripts/fetch-smollm2.sh)"
# F32 and Q8_0 copies of the SmolLM2 file, made by llama.cpp itself (as shared/bench/README.md shows).
for spec in "0 f32" "7 q8_0"; do
    set -- $spec
    target="$OUT/SmolLM2-135M-Instruct-$2.gguf"
    source="$G"; [ "$2" = q8_0 ] && source="$OUT/SmolLM2-135M-Instruct-f32.gguf"
    [ -f "$target" ] || "$PY" -c "
import ctypes, llama_cpp, sys
p = llama_cpp.llama_model_quantize_default_params(); p.ftype = $1; p.allow_requantize = True
sys.exit(llama_cpp.llama_model_quantize(b'$source', b'$target', ctypes.byref(p)))" > "$OUT/quantize-$2.log" 2>&1
done
swift build -c release --product rlhf
RLHF="$(swift build -c release --show-bin-path)/rlhf"
uptime | tee "$OUT/load.txt"
"$RLHF" bench --skip-portable --json "$OUT/rlhf-bench.json" | tee "$OUT/rlhf-bench.txt"
# The real model's F32 copy: batch 1 from F32 weights, then from Q8_0 copies of them (what llama.cpp's
# Q8_0 file holds, up to its float16 scales), with the log-prob error between the two.
"$RLHF" bench --sampling-only --model "$OUT/SmolLM2-135M-Instruct-f32.gguf" --sampling-batches 1 16 --new-tokens 128 \
    --json "$OUT/rlhf-sampling.json" | tee "$OUT/rlhf-sampling.txt"
"$RLHF" bench --p3o --model "$G" --json "$OUT/rlhf-rl.json" | tee "$OUT/rlhf-rl.txt"
# Each baseline in turn; one that crashes (exit status printed) leaves the others and the table standing.
baseline() {
    local log="$1"; shift
    "$@" > >(tee "$OUT/$log") 2>&1 || echo "bench-compare: $* failed with exit status $? (its ratios are left out)" | tee -a "$OUT/$log" "$OUT/failures.txt" >&2
}
rm -f "$OUT/failures.txt"
baseline torch.txt "$PY" "$BENCH/torch_bench.py" 4 128
for kind in f32 q8_0; do
    file="$OUT/SmolLM2-135M-Instruct-$kind.gguf"
    # llama.cpp's AMX repacking crashes on some Intel hosts: then once more without repacking (said in the log).
    "$LLAMA_PY" "$BENCH/llama_bench.py" "$file" > >(tee "$OUT/llama-$kind.txt") 2>&1 \
        || baseline "llama-$kind.txt" "$LLAMA_PY" tools/llama_bench_without_repacking.py "$BENCH/llama_bench.py" "$file"
done
if [ -z "${SKIP_TRL:-}" ]; then
    baseline trl.txt "$PY" "$BENCH/trl_bench.py" --gguf "$G" --json "$OUT/trl.json"
fi
uptime | tee -a "$OUT/load.txt"
python3 tools/bench_compare.py "$OUT" | tee "$OUT/comparison.txt"
