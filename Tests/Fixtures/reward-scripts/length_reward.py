#!/usr/bin/env python3
"""A correct reward command for the tests: one JSON request per line in, one number per line out.

reward = len(response) (code points) + the record's "bonus" (default 0), except:
  "report": "count"  -> how many requests this process has read so far (1, 2, ...: shows reuse)
  "report": "prompt" -> len(prompt)
  "echo": NAME       -> the value of the record's field NAME (shows fields pass through)
  "raw": TEXT        -> TEXT written verbatim as the answer line (to test malformed answers)
"""
import json
import sys

count = 0
for line in sys.stdin:
    count += 1
    record = json.loads(line)
    if "raw" in record:
        print(record["raw"], flush=True)
        continue
    report = record.get("report")
    if report == "count":
        reward = count
    elif report == "prompt":
        reward = len(record["prompt"])
    elif "echo" in record:
        reward = record[record["echo"]]
    else:
        reward = len(record["response"]) + record.get("bonus", 0)
    print(json.dumps(reward), flush=True)
