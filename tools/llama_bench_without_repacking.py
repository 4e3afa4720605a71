"""Runs shared/bench/llama_bench.py with llama.cpp's extra buffer types off (`use_extra_bufts = False`).

llama-cpp-python 0.3.36 built natively on an Intel host with AMX repacks quantized weights for its AMX
kernels, and there (seen on a KVM guest with amx_tile/amx_int8, 2026-12-02) `ggml_backend_amx_mul_mat`
crashes with SIGSEGV on Q8_0 and Q4_1 files. Without extra buffer types llama.cpp runs its plain
AVX-512 kernels on the weights as stored. scripts/bench-compare.sh falls back to this when the plain
run crashes and says so beside the figure.

    python tools/llama_bench_without_repacking.py ../shared/bench/llama_bench.py MODEL.gguf
"""
import runpy
import sys

# `Llama.__init__` reads the default parameters from the bindings module itself.
import llama_cpp.llama_cpp as bindings

_default_parameters = bindings.llama_model_default_params


def _parameters_without_extra_buffer_types():
    parameters = _default_parameters()
    parameters.use_extra_bufts = False
    return parameters


bindings.llama_model_default_params = _parameters_without_extra_buffer_types

if len(sys.argv) < 2:
    sys.exit(__doc__)
sys.argv = sys.argv[1:]
print("(llama.cpp extra buffer types off: no weight repacking, no AMX)", flush=True)
runpy.run_path(sys.argv[0], run_name="__main__")
