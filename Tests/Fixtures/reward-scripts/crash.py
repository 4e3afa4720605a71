#!/usr/bin/env python3
"""Reads one request, complains on standard error and exits with status 3."""
import sys

sys.stdin.readline()
sys.stderr.write("crash.py: simulated failure while scoring\n")
sys.stderr.flush()
sys.exit(3)
