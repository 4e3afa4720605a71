"""Writes Tests/Fixtures/tokenizer-differential.json: seeded random texts and the ids Hugging Face
`tokenizers` gives them, for the differential tokenizer test (Tests/ReferenceTests/
TokenizerDifferentialTests.swift), which encodes every text through the GGUF loading path and the
tokenizer.json loading path and compares.

    pip install tokenizers && python3 tools/make_tokenizer_fixtures.py

Vocabulary and merges are SmolLM2-135M-Instruct's (`../shared/reference/smollm2-hf/tokenizer.json`,
which transformers wrote from the GGUF the tests download). Besides the model's own pre-tokenizer
(`ByteLevel` with the GPT-2 expression), the same vocabulary is run with the other pre-tokenizers the
engine maps, each exactly as its Hugging Face model ships it:
  - llama3: Split(Llama 3 expression, Isolated) + ByteLevel(use_regex=false), ignore_merges=true
  - qwen2:  Split(Qwen 2 expression, Isolated) + ByteLevel(use_regex=false), NFC normalizer
  - starcoder: Digits(individual_digits=true) + ByteLevel (StarCoder and SmolLM v1)

Never a runtime dependency: the fixture file is committed.
"""
import json, random, sys
from pathlib import Path
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared/reference/smollm2-hf/tokenizer.json"
OUTPUT = ROOT / "Tests/Fixtures/tokenizer-differential.json"

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
BYTE_LEVEL_NO_REGEX = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}


def split(pattern):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        BYTE_LEVEL_NO_REGEX]}


def variants(base):
    """kind name -> tokenizer.json object (the Swift test builds the same from the same base)."""
    out = {"gpt2": base}
    llama3 = json.loads(json.dumps(base))
    llama3["pre_tokenizer"] = split(LLAMA3)
    llama3["model"]["ignore_merges"] = True
    out["llama3"] = llama3
    qwen2 = json.loads(json.dumps(base))
    qwen2["pre_tokenizer"] = split(QWEN2)
    qwen2["normalizer"] = {"type": "NFC"}
    out["qwen2"] = qwen2
    starcoder = json.loads(json.dumps(base))
    starcoder["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, base["pre_tokenizer"]]}
    out["starcoder"] = starcoder
    return out


# ---- the random text generator -------------------------------------------------------------

SPACES = [" ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", "\u00a0", "\u3000",
          "\u2009", "\u2003", "\x0b", "\x0c", "\u2028", "\u0085", " \n", "\n ", "\n    ", " \t ", "\u200b"]
DIGITS = ["0", "1", "7", "42", "2024", "3.14", "1,000", "٣", "٤٥", "३", "१२", "１２", "²", "½", "Ⅻ", "𝟗", "০", "๓", "⁴"]
WORDS = ["the", "Hello", "world", "don't", "I'M", "we'll", "it's", "THEY'RE", "you've", "she'd", "'s", "'ll",
         "ſ", "'ſ", "naïve", "café", "cafe\u0301", "Ωmega", "Straße", "ǅ", "ʰ", "x", "A", "z9", "abc123def",
         "привет", "мир", "γειά", "σου", "日本語", "中文", "한국어", "한", "\u1112\u1161\u11ab", "مرحبا",
         "שלום", "สวัสดี", "नमस्ते", "ᚠᛇᚻ", "Ελλάδα", "Ｆｕｌｌ", "ﬁ", "e\u0301\u0302"]
PUNCT = [".", ",", "!", "?", ":", ";", "-", "--", "...", "(", ")", "[", "]", "{", "}", "\"", "'", "`", "#", "*",
         "**", "->", "=>", "==", "!=", "<=", "+=", "/", "\\", "@", "$", "%", "^", "&", "|", "~", "_", "__",
         "«", "»", "“", "”", "—", "…", "·", "§", "€", "£", "¥", "©", "\u0301"]
EMOJI = ["🙂", "👍🏽", "👨‍👩‍👧", "❤️", "🇫🇷", "🚀", "✨", "☕", "🤖", "1️⃣", "©️"]
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<file_sep>", "<|im_start|>user\n",
            "<|im_start|>assistant\n", "<|im_end|>\n", "<|im_sta", "im_end|>"]
CODE = ["def f(x):\n    return x + 1\n", "for (int i = 0; i < 10; i++) {\n\tsum += a[i];\n}",
        "x = [\n    1,\n    2]", "if a == b:\n        pass", "#include <stdio.h>\r\n", "SELECT * FROM t WHERE id=3;",
        "{\"a\": 1, \"b\": [2, 3]}", "  - item 1\n  - item 2", "1. First\n2. Second\n\n3. Third",
        "<div class=\"x\">\n  <p>Hi</p>\n</div>", "let y = 0x1F;  // comment", "$ ls -la\n"]


def fragment(rng):
    kind = rng.random()
    if kind < 0.28: return rng.choice(SPACES)
    if kind < 0.45: return rng.choice(DIGITS)
    if kind < 0.70: return rng.choice(WORDS)
    if kind < 0.84: return rng.choice(PUNCT)
    if kind < 0.89: return rng.choice(EMOJI)
    if kind < 0.93: return rng.choice(SPECIALS)
    if kind < 0.97: return rng.choice(CODE)
    return chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2fff), rng.randint(0x4e00, 0x9fff),
                           rng.randint(0x1f300, 0x1faff)]))


def texts(seed, count):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        # Whitespace runs before digits, letters and punctuation are the point: make them common.
        pieces = [fragment(rng) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.5:
            pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(SPACES) * rng.randint(1, 3))
        text = "".join(pieces)
        if any(0xd800 <= ord(c) <= 0xdfff for c in text): continue
        out.append(text)
    return out


def main():
    base = json.loads(SOURCE.read_text())
    cases = texts(2026, 2600)
    fixed = ["Here are tips:\n\n1. Sleep well.", "x = [\n    1,\n    2]", "a\r\n0", "x       3", "a\t\t5"]
    cases = fixed + cases
    ids = {}
    for name, spec in variants(base).items():
        tokenizer = Tokenizer.from_str(json.dumps(spec))
        ids[name] = [tokenizer.encode(text, add_special_tokens=False).ids for text in cases]
    import tokenizers
    fixture = {"generator": "tools/make_tokenizer_fixtures.py", "tokenizers": tokenizers.__version__,
               "texts": cases, "ids": {name: [" ".join(map(str, row)) for row in rows] for name, rows in ids.items()}}
    OUTPUT.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n")
    differing = {name: sum(a != b for a, b in zip(rows, ids["gpt2"])) for name, rows in ids.items()}
    print(f"{len(cases)} texts, {sum(len(r) for r in ids['gpt2'])} tokens (gpt2); differ from gpt2: {differing}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
