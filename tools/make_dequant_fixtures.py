"""Writes Tests/Fixtures/dequantization.safetensors: random GGUF blocks of every type the engine
dequantizes, with the values the `gguf` Python package's reference implementation
(gguf.quants.dequantize, from llama.cpp's gguf-py) produces for them. Q8_K, which gguf.quants
does not dequantize, gets ggml's definition written in numpy (x = d * q, f32 d).

    pip install gguf numpy && python3 tools/make_dequant_fixtures.py

Never a runtime dependency: the fixture file is committed.
"""
import json, struct
import numpy as np
from gguf import GGMLQuantizationType as T, quants
from gguf.constants import GGML_QUANT_SIZES

rng = np.random.default_rng(2026)
# Offsets of the f16 scale fields in each block, set to sane values so no NaN/inf appears.
half_fields = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
               T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.Q2_K: [80, 82], T.Q3_K: [108],
               T.IQ4_NL: [0], T.IQ4_XS: [0]}


def q8_K_reference(raw):
    """ggml's dequantize_row_q8_K: blocks of f32 d, 256 int8 q, 16 int16 sums; x = d * q."""
    blocks = raw.reshape(-1, GGML_QUANT_SIZES[T.Q8_K][1])
    d = blocks[:, :4].copy().view(np.float32)
    q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)


tensors = {}
for qtype in [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K,
              T.Q2_K, T.Q3_K, T.Q8_K, T.IQ4_NL, T.IQ4_XS]:
    block, size = GGML_QUANT_SIZES[qtype]
    count = 512  # 2 super-blocks of 256, or 16 blocks of 32
    if qtype in (T.F32, T.F16, T.BF16):
        values = rng.normal(0, 2, count).astype(np.float32)
        raw = quants.quantize(values, qtype).view(np.uint8).reshape(-1)
    else:
        blocks = count // block
        raw = rng.integers(0, 256, blocks * size, dtype=np.uint8)
        for b in range(blocks):
            for offset in half_fields.get(qtype, []):
                value = np.float16(rng.uniform(-0.05, 0.05))
                raw[b * size + offset: b * size + offset + 2] = np.frombuffer(value.tobytes(), dtype=np.uint8)
            if qtype == T.Q8_K:
                raw[b * size: b * size + 4] = np.frombuffer(np.float32(rng.uniform(-0.05, 0.05)).tobytes(), dtype=np.uint8)
    if qtype == T.Q8_K:
        expected = q8_K_reference(raw)
    else:
        expected = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1).astype(np.float32)
    assert expected.size == count and np.isfinite(expected).all(), qtype.name
    tensors[f"{qtype.name}.raw"] = ("U8", raw.tobytes(), [raw.size])
    tensors[f"{qtype.name}.expected"] = ("F32", expected.tobytes(), [count])

header, data, offset = {"__metadata__": {"generator": "tools/make_dequant_fixtures.py (gguf.quants.dequantize)"}}, b"", 0
for name, (dtype, payload, shape) in tensors.items():
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(payload)]}
    data += payload
    offset += len(payload)
text = json.dumps(header).encode()
text += b" " * ((8 - (8 + len(text)) % 8) % 8)
with open("Tests/Fixtures/dequantization.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
print("wrote", len(tensors) // 2, "types,", 8 + len(text) + len(data), "bytes")
