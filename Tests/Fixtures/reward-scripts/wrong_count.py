#!/usr/bin/env python3
"""Answers every request twice: one line too many per response."""
import json
import sys

for line in sys.stdin:
    reward = len(json.loads(line)["response"])
    print(reward, flush=True)
    print(reward, flush=True)
