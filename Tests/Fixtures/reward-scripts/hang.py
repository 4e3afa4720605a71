#!/usr/bin/env python3
"""Reads requests and never answers."""
import sys

for line in sys.stdin:
    pass
