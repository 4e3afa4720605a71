#!/usr/bin/env python3
"""Prints swift-rlhf's figures beside PyTorch, llama.cpp and TRL from one run of scripts/bench-compare.sh.

Reads the folder the script wrote: rlhf-bench.json, rlhf-sampling.json, rlhf-rl.json (`rlhf bench --json`),
torch.txt (shared/bench/torch_bench.py), llama-f32.txt and llama-q8_0.txt (shared/bench/llama_bench.py)
and trl.json (shared/bench/trl_bench.py --json). Missing inputs leave their rows out.
Writes comparison.json (every row) and prints the table; the exit code is 0 whatever the ratios are.
"""
import json
import os
import re
import sys


def load_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def record(report, section, work):
    if not report:
        return None
    for r in report.get("records", []):
        if r["section"] == section and r["work"] == work:
            return r
    return None


def main(folder):
    bench = load_json(os.path.join(folder, "rlhf-bench.json"))
    sampling = load_json(os.path.join(folder, "rlhf-sampling.json"))
    rl = load_json(os.path.join(folder, "rlhf-rl.json"))
    trl = load_json(os.path.join(folder, "trl.json"))
    torch_text = read_text(os.path.join(folder, "torch.txt"))
    llama = {kind: read_text(os.path.join(folder, f"llama-{kind}.txt")) for kind in ("f32", "q8_0")}

    def torch_figure(pattern):
        m = re.search(pattern, torch_text)
        return float(m.group(1)) if m else None

    def llama_name(kind):
        # tools/llama_bench_without_repacking.py says so in its first line (llama.cpp's AMX path crashed).
        plain = "extra buffer types off" in llama[kind]
        return f"llama.cpp {kind.upper()}" + (" (no repacking)" if plain else "")

    def llama_figure(kind, what):
        m = re.search(what + r".*= ([0-9.]+) tok/s", llama[kind])
        return float(m.group(1)) if m else None

    def ours(report, section, work, field="tokens_per_second"):
        r = record(report, section, work)
        return r.get(field) if r else None

    def trl_step(config):
        for r in (trl or {}).get("results", []):
            if r.get("config") == config:
                return r.get("step_s_median")
        return None

    rows = []  # (work, ours, baseline name, baseline, unit, higher is better, target ratio)

    def add(work, mine, name, theirs, unit, higher, target):
        if mine is None or theirs is None:
            return
        ratio = mine / theirs if higher else theirs / mine
        rows.append({"work": work, "swift_rlhf": mine, "baseline": name, "baseline_value": theirs, "unit": unit,
                     "ratio": ratio, "target": target, "met": ratio >= target})

    add("train step B=4 T=128 (fwd+bwd+AdamW)", ours(bench, "model", "train step (fwd+bwd+AdamW), B=4 T=128"),
        "PyTorch", torch_figure(r"train step B=4 T=128: .*-> ([0-9.]+) tok/s"), "tokens/s", True, 1.3)
    add("forward B=4 T=128", ours(bench, "model", "forward (log-probs), B=4 T=128"),
        "PyTorch", torch_figure(r"forward B=4 T=128: ([0-9.]+) tok/s"), "tokens/s", True, 1.3)
    add("prompt prefill (256 vs ~200 tokens)", ours(bench, "sampling", "prompt prefill, 256 tokens"),
        llama_name("f32"), llama_figure("f32", "prompt eval"), "tokens/s", True, 1.0)
    add("sampling, batch 16", ours(bench, "sampling", "sample, batch 16"),
        "HF generate", torch_figure(r"generate batch 16: ([0-9.]+) new tok/s"), "tokens/s", True, 4.0)
    add("sampling, batch 1, F32 weights", ours(sampling, "sampling", "sample, batch 1"),
        llama_name("f32"), llama_figure("f32", "decode"), "tokens/s", True, 1.0)
    add("sampling, batch 1, Q8_0 weights", ours(sampling, "sampling", "sample, batch 1, Q8_0 weights"),
        llama_name("q8_0"), llama_figure("q8_0", "decode"), "tokens/s", True, 1.0)
    add("GRPO step, top 2 blocks", ours(rl, "rl", "grpo-top2", "seconds"), "TRL grpo_top2", trl_step("grpo_top2"), "s/step", False, 5.0)
    add("GRPO step, all parameters", ours(rl, "rl", "grpo", "seconds"), "TRL grpo", trl_step("grpo"), "s/step", False, 3.0)
    add("P3O step, 8 prompts × 2", ours(rl, "rl", "p3o-8", "seconds"), "TRL rloo", trl_step("rloo"), "s/step", False, 5.0)
    add("RLOO step, 8 prompts × 2, all parameters", ours(rl, "rl", "rloo", "seconds"), "TRL rloo", trl_step("rloo"), "s/step", False, 1.0)
    add("DPO step, 4 pairs × 128", ours(rl, "rl", "dpo", "seconds"), "TRL dpo", trl_step("dpo"), "s/step", False, 1.5)

    machine = (bench or sampling or rl or {}).get("machine", {})
    cpu = machine.get("cpu", {})
    print(f"CPU: {cpu.get('model', '?')} ({cpu.get('family_and_model', '?')}), {cpu.get('logical_processor_count', '?')} CPUs, "
          f"{' '.join(cpu.get('vector_features', []))}; kernels {machine.get('kernels', '?')}, threads {machine.get('threads', '?')}")
    if machine.get("gemm_roof_gigaflops"):
        print(f"roofs: sgemm {machine['gemm_roof_gigaflops']:.1f} GFLOP/s, memory read {machine.get('memory_roof_gigabytes_per_second', 0):.1f} GB/s")
    if trl:
        meta = trl.get("meta", {})
        print(f"TRL {meta.get('trl', '?')}, torch {meta.get('torch', '?')}, transformers {meta.get('transformers', '?')}")
    print()
    print(f"{'work':<42}{'swift-rlhf':>12}{'baseline':>12}  {'unit':<9}{'ratio':>7}{'target':>8}  vs")
    for r in rows:
        print(f"{r['work']:<42}{r['swift_rlhf']:>12.2f}{r['baseline_value']:>12.2f}  {r['unit']:<9}{r['ratio']:>6.2f}×{r['target']:>7.1f}×  "
              f"{r['baseline']}{'' if r['met'] else '   (below target)'}")
    error = record(sampling, "sampling", "q8_0 log-prob error")
    if error and error.get("extra"):
        e = error["extra"]
        print(f"\nQ8_0 sampling weights vs float32 (real model): next-token log-prob |Δ| mean {e['mean_abs_logprob_difference']:.4f}, "
              f"max {e['max_abs_logprob_difference']:.4f} nats; KL {e['mean_kl']:.2e}; argmax changed at {int(e['argmax_changes'])} positions")
    with open(os.path.join(folder, "comparison.json"), "w") as fh:
        json.dump({"machine": machine, "rows": rows}, fh, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "runs/bench"))
