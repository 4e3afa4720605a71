#!/usr/bin/env python3
"""Answers each request with {"reward": len(response) / 2, "detail": ...}."""
import json
import sys

for line in sys.stdin:
    record = json.loads(line)
    print(json.dumps({"reward": len(record["response"]) / 2, "detail": "half the length"}), flush=True)
