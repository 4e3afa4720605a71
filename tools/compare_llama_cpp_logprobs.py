"""Compares rlhf's teacher-forced next-token log-probs with llama.cpp's on the same GGUF file.

    python3 tools/compare_llama_cpp_logprobs.py --rlhf .build/release/rlhf FILE.gguf [FILE.gguf ...]

For each file: the tensor types it holds (gguf.GGUFReader), then the text tokenized by
`rlhf logprobs` (its ids are fed to llama.cpp as they are; llama.cpp's own tokenization is checked
against them and the agreement printed), llama.cpp's logits at every position (llama_cpp.Llama,
logits_all=True) turned into float64 log-softmax, and per file the max and mean |Δ log p| of each
actual next token, and how often the two top-1 predictions agree. With --f32-control DIR, also
llama.cpp on its own float32 dequantization of the file (llama_model_quantize to F32, written into
DIR): the same weights without llama.cpp's quantized dot products (activations rounded to
Q8_0/Q8_K), which separates a dequantization error from llama.cpp's quantized arithmetic. Needs
`gguf`, `numpy` and `llama-cpp-python`; never a runtime dependency of the package.
"""
import argparse, collections, ctypes, json, os, subprocess, sys
import numpy as np

DEFAULT_TEXT = (
    "The lighthouse keeper climbed the narrow stairs every evening at dusk. From the top he could see "
    "the fishing boats returning to the harbour, their lanterns swaying over the dark water. He wrote "
    "the weather in a small notebook: the direction of the wind, the height of the waves, and whether "
    "the gulls had flown inland. In winter the storms came quickly, and he would stay awake through "
    "the night, trimming the wick and polishing the great lens until the beam reached far out to sea."
)


def tensor_types(path):
    from gguf import GGUFReader
    counts = collections.Counter(t.tensor_type.name for t in GGUFReader(path).tensors)
    return dict(sorted(counts.items()))


def rlhf_logprobs(binary, path, text):
    out = subprocess.run([binary, "logprobs", "--model", path, "--text", text, "--top", "1", "--json"],
                         check=True, capture_output=True, text=True).stdout
    tokens = json.loads(out)["tokens"]
    ids = [t["id"] for t in tokens]
    logprobs = np.array([np.nan if t["logprob"] is None else t["logprob"] for t in tokens], dtype=np.float64)
    top1 = [t["top"][0]["id"] if t["top"] else -1 for t in tokens]
    return ids, logprobs, top1


def llama_cpp_logprobs(path, ids, text, threads):
    import llama_cpp
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_threads=threads, n_ctx=max(512, len(ids) + 16),
                          n_batch=512, verbose=False)
    own = llm.tokenize(text.encode(), add_bos=False, special=True)
    llm.reset()
    llm.eval(ids)
    logits = np.array(llm.scores[: len(ids)], dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    logsoftmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    next_logprobs = np.array([np.nan] + [logsoftmax[t - 1, ids[t]] for t in range(1, len(ids))])
    del llm
    return next_logprobs, logsoftmax.argmax(axis=1), own


def llama_cpp_f32_copy(path, directory):
    import llama_cpp
    out = os.path.join(directory, os.path.basename(path).removesuffix(".gguf") + "-llama-cpp-f32.gguf")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize = llama_cpp.LLAMA_FTYPE_ALL_F32, True
    if llama_cpp.llama_model_quantize(path.encode(), out.encode(), ctypes.byref(params)) != 0:
        raise RuntimeError(f"llama.cpp could not write an F32 copy of {path}")
    return out


def summary(ours, our_top1, theirs, their_top1):
    delta = np.abs(ours[1:] - theirs[1:])
    return dict(positions=len(delta), max_abs=float(delta.max()), mean_abs=float(delta.mean()),
                top1_agreement=float(np.mean(np.array(our_top1) == their_top1)), top1_positions=len(our_top1),
                mean_logprob_rlhf=float(ours[1:].mean()), mean_logprob_llama_cpp=float(theirs[1:].mean()))


def describe(label, r):
    return (f"  {label}: |Δ log p| over {r['positions']} positions: max {r['max_abs']:.4f}, mean {r['mean_abs']:.4f};"
            f" top-1 agreement {r['top1_agreement'] * 100:.1f}% of {r['top1_positions']};"
            f" mean log p rlhf {r['mean_logprob_rlhf']:.4f}, llama.cpp {r['mean_logprob_llama_cpp']:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rlhf", required=True, help="the rlhf binary")
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the per-file results here")
    parser.add_argument("--f32-control", metavar="DIR", help="also compare with llama.cpp on its F32 copy, written here")
    args = parser.parse_args()
    results = []
    for path in args.files:
        types = tensor_types(path)
        ids, ours, our_top1 = rlhf_logprobs(args.rlhf, path, args.text)
        theirs, their_top1, own_ids = llama_cpp_logprobs(path, ids, args.text, args.threads)
        result = dict(file=path, types=types, tokens=len(ids), same_tokenization=own_ids == ids,
                      llama_cpp=summary(ours, our_top1, theirs, their_top1))
        print(f"{path}\n  types {types}\n  tokens {len(ids)} (llama.cpp tokenizes the same: {own_ids == ids})")
        print(describe("vs llama.cpp on the file", result["llama_cpp"]), flush=True)
        if args.f32_control:
            copy = llama_cpp_f32_copy(path, args.f32_control)
            theirs, their_top1, _ = llama_cpp_logprobs(copy, ids, args.text, args.threads)
            result["llama_cpp_f32_copy"] = summary(ours, our_top1, theirs, their_top1)
            print(describe("vs llama.cpp on its F32 copy", result["llama_cpp_f32_copy"]), flush=True)
        results.append(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
