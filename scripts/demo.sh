#!/usr/bin/env bash
# The main job: `rlhf demo`, the story of RLHF with relative feedback and reward hacking in about
# four minutes on 2 cores (after a ~2-minute release build): SFT, gold-labelled preferences with
# 25% flips, proxy reward models alone and as ensembles, P3O V1/V2, PPO and online DPO over two β
# and 3 seeds. Prints the table; writes runs/demo/results.json and runs/demo/report.html.
# Extra flags go to `rlhf demo` (e.g. --seed 1, --output DIR, --model SmolLM2.gguf).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product rlhf
.build/release/rlhf demo "$@"
