#!/usr/bin/env bash
# Installs what swift-rlhf uses beyond the Swift toolchain. Safe to run repeatedly.
#
# - OpenBLAS: the fast GEMM path. Optional: without it the portable Swift kernel is used
#   (correct, slower), so a failure here is a warning, not an error.
set -u

have_openblas() {
    ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so' || ls /usr/lib/*/libopenblas*.so* >/dev/null 2>&1
}

if [ "$(uname)" = "Linux" ] && ! have_openblas; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
        echo "setup: installing OpenBLAS (libopenblas0-pthread) ..." >&2
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0-pthread; } \
            >/tmp/swift-rlhf-apt.log 2>&1 \
            || echo "setup: warning: could not install OpenBLAS (see /tmp/swift-rlhf-apt.log); using the portable GEMM" >&2
    else
        echo "setup: warning: no apt-get; install OpenBLAS for fast GEMM (the portable kernel is used meanwhile)" >&2
    fi
fi
have_openblas && echo "setup: OpenBLAS present" >&2
exit 0
