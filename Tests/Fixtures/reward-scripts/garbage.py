#!/usr/bin/env python3
"""Answers every request with a line that is not a number."""
import sys

for line in sys.stdin:
    print("not a number", flush=True)
