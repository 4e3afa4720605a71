#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies, fetches the SmolLM2 test model
# (once, cached), builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RLHF_SMOLLM2_GGUF="$(bash scripts/fetch-smollm2.sh)"
export RLHF_SMOLLM2_GGUF
# Real-model CLI tests run the release binary (seconds instead of minutes per command).
swift build -c release --product rlhf
RLHF_CLI="$(swift build -c release --show-bin-path)/rlhf"
export RLHF_CLI
swift build --build-tests
swift test --skip-build
# The kernels again with the fast paths off: AVX2 instead of AVX-512, and the portable Swift code.
RLHF_AVX512=off swift test --skip-build --filter "RLHFTensorTests|RLHFModelTests"
RLHF_SIMD_KERNELS=off swift test --skip-build --filter "RLHFTensorTests|RLHFModelTests"
