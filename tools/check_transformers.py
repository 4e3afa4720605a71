"""Loads a directory written by `rlhf` with Hugging Face transformers and compares its outputs
with `rlhf logprobs --json` on the same texts: the sequence log-prob for a causal LM, the score
for a reward model (LlamaForSequenceClassification). A developer check, not part of CI (it needs
torch and transformers):

    pip install torch transformers && python3 tools/check_transformers.py DIR [RLHF_BINARY]
"""
import json, subprocess, sys
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

directory = sys.argv[1]
binary = sys.argv[2] if len(sys.argv) > 2 else ".build/release/rlhf"
config = AutoConfig.from_pretrained(directory)
reward = config.architectures[0] == "LlamaForSequenceClassification"
tokenizer = AutoTokenizer.from_pretrained(directory)
model = (AutoModelForSequenceClassification if reward else AutoModelForCausalLM).from_pretrained(directory, dtype=torch.float32)
model.eval()
conversations = [
    [{"role": "user", "content": "Write one sentence about the ocean."}, {"role": "assistant", "content": "The ocean is vast and deep, with waves."}],
    [{"role": "user", "content": "Describe a quiet library in one sentence."}, {"role": "assistant", "content": "Rows of books sleep under soft lamps."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!\n\n1. one\n2. two"}, {"role": "assistant", "content": "Hello there"}],
]
texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
# rlhf scores completions that end at the end-of-turn token: drop the template's trailing newline.
texts = [t[:-1] if t.endswith("\n") else t for t in texts]
worst = 0.0
for text in texts:
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    ours = json.loads(subprocess.run([binary, "logprobs", "--model", directory, "--text", text, "--top", "1"],
                                     check=True, capture_output=True, text=True).stdout)
    assert [t["id"] for t in ours["tokens"]] == ids[0].tolist(), "token ids differ"
    with torch.no_grad():
        if reward:
            theirs = model(input_ids=ids).logits[0, 0].item()
            mine = ours["score"]
        else:
            logits = model(input_ids=ids).logits[0].double().log_softmax(-1)
            theirs = logits[:-1].gather(1, ids[0, 1:, None]).sum().item()
            mine = ours["sequence_logprob"]
    worst = max(worst, abs(theirs - mine))
    print(f"{'score' if reward else 'sequence log-prob'}: transformers {theirs:.5f}  rlhf {mine:.5f}  ({ids.shape[1]} tokens)")
# Batched and right-padded, as a trainer would: the score must not move.
if reward:
    batch = tokenizer(texts, add_special_tokens=False, return_tensors="pt", padding=True)
    with torch.no_grad():
        padded = model(**batch).logits[:, 0].tolist()
    print("padded batch scores:", [f"{x:.5f}" for x in padded])
print(f"largest difference: {worst:.2e}")
