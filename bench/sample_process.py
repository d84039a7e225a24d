#!/usr/bin/env python3
"""Samples a process's CPU time, resident memory and the kernel's RTP packet counter once a
second until killed.

    sample_process.py PID OUT.csv [NFT_TABLE NFT_COUNTER ...]

Writes CSV lines: Unix time, CPU seconds used (user + system), RSS in kB, and the packets each
nftables counter has seen, one column per counter in the order given (one 0 column without
any). Counting in the kernel instead of capturing keeps the measurement off the two cores the
server is competing for."""
import os
import re
import signal
import subprocess
import sys
import time

pid, path = int(sys.argv[1]), sys.argv[2]
table, counters = (sys.argv[3], sys.argv[4:]) if len(sys.argv) > 4 else (None, [])
ticks = os.sysconf("SC_CLK_TCK")
running = True


def stop(*_):
    global running
    running = False


def packets(counter):
    out = subprocess.run(["nft", "list", "counter", "inet", table, counter], capture_output=True,
                         text=True, check=False).stdout
    m = re.search(r"packets (\d+)", out)
    return int(m.group(1)) if m else 0


signal.signal(signal.SIGTERM, stop)
with open(path, "w") as out:
    while running:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            break
        counts = [packets(c) for c in counters] or [0]
        out.write(f"{time.time():.3f},{cpu:.2f},{rss},{','.join(map(str, counts))}\n")
        out.flush()
        time.sleep(1)
