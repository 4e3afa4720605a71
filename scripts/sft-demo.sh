#!/usr/bin/env bash
# The main job for now: a short SFT run of a small byte-level Llama on the fables the repository
# ships, with a progress bar, held-out loss, a checkpoint in runs/sft-aesop and a sample at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product rlhf
.build/release/rlhf sft --data Examples/data/aesop-fables.txt --output runs/sft-aesop \
    --metrics runs/sft-aesop-metrics.jsonl "$@"
