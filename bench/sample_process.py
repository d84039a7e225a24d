#!/usr/bin/env python3
"""Samples a process's CPU time and resident memory once a second until killed.

Writes CSV lines: seconds since start, CPU seconds used (user + system), RSS in kB."""
import os
import signal
import sys
import time

pid, path = int(sys.argv[1]), sys.argv[2]
ticks = os.sysconf("SC_CLK_TCK")
start = time.time()
running = True


def stop(*_):
    global running
    running = False


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
        out.write(f"{time.time() - start:.1f},{cpu:.2f},{rss}\n")
        out.flush()
        time.sleep(1)
