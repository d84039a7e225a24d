#!/usr/bin/env python3
"""Turns one benchmark run's raw records into a CSV line, or prints the results table.

    report.py LEVEL RUN_DIR      one CSV line for results.csv
    report.py --table RESULTS    the table for docs/performance.md
"""
import csv
import glob
import statistics
import subprocess
import sys
from collections import defaultdict


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def sipp_counts(run):
    """Attempted, successful and failed calls from SIPp's last statistics line."""
    files = glob.glob(f"{run}/*_.csv")
    if not files:
        return 0, 0, 0
    with open(files[0]) as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, last = rows[0], rows[-1]
    col = lambda name: int(last[header.index(name)])
    return col("TotalCallCreated"), col("SuccessfulCall(C)"), col("FailedCall(C)")


def setup_latencies(run):
    """INVITE→200 times (ms) per call, from the capture (SIPp's own trace rounds to whole ms)."""
    out = subprocess.run(
        ["tshark", "-r", f"{run}/rtp.pcapng", "-Y", "sip.CSeq.method == \"INVITE\"", "-T", "fields",
         "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e", "sip.Method", "-e", "sip.Status-Code"],
        capture_output=True, text=True, check=False,
    ).stdout
    invites, answers = {}, {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        t, call, method, status = float(parts[0]), parts[1], parts[2], parts[3]
        if method == "INVITE":
            invites.setdefault(call, t)
        elif status == "200":
            answers.setdefault(call, t)
    return [(answers[c] - invites[c]) * 1000 for c in invites if c in answers]


def rtp_jitter(run):
    """Per stream (server port → caller), inter-arrival deviations from 20 ms, in ms."""
    out = subprocess.run(
        ["tshark", "-r", f"{run}/rtp.pcapng", "-Y", "udp.srcport >= 30000 && udp.srcport <= 39999",
         "-T", "fields", "-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "udp.dstport"],
        capture_output=True, text=True, check=False,
    ).stdout
    streams = defaultdict(list)
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            streams[(parts[1], parts[2])].append(float(parts[0]))
    deviations, packets = [], []
    for times in streams.values():
        if len(times) < 50:
            continue  # a stream too short to judge pacing
        packets.append(len(times))
        for a, b in zip(times, times[1:]):
            deviations.append(abs((b - a) * 1000 - 20.0))
    return deviations, packets


def process_stats(run):
    rows = []
    with open(f"{run}/process.csv") as f:
        for row in csv.reader(f):
            rows.append((float(row[0]), float(row[1]), int(row[2])))
    if len(rows) < 2:
        return float("nan"), float("nan"), float("nan")
    cpu_pct = (rows[-1][1] - rows[0][1]) / (rows[-1][0] - rows[0][0]) * 100
    # The first sample is the idle server (speech model loaded, no call yet).
    return cpu_pct, max(r[2] for r in rows) / 1024, (max(r[2] for r in rows) - rows[0][2])


def line(level, run):
    attempted, ok, failed = sipp_counts(run)
    setup = setup_latencies(run)
    deviations, packets = rtp_jitter(run)
    cpu, rss, rss_growth_kb = process_stats(run)
    late = 100 * sum(1 for d in deviations if d > 5) / len(deviations) if deviations else float("nan")
    fields = [
        level, attempted, ok, failed,
        f"{percentile(setup, 50):.2f}", f"{percentile(setup, 99):.2f}",
        f"{cpu:.0f}", f"{rss:.0f}", f"{rss_growth_kb / max(1, int(level)):.0f}",
        len(packets), f"{statistics.mean(packets):.0f}" if packets else "0",
        f"{percentile(deviations, 50):.2f}", f"{percentile(deviations, 99):.2f}",
        f"{max(deviations) if deviations else float('nan'):.1f}", f"{late:.2f}",
    ]
    print(",".join(str(f) for f in fields))


def table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    print("| simultaneous calls | attempted | completed | failed | INVITE→200 p50 / p99 (ms) | server CPU | RSS (MB) | RSS growth per call (kB) | RTP packets per call | jitter p50 / p99 / max (ms) | intervals off by > 5 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['level']} | {r['attempted']} | {r['completed']} | {r['failed']} | {r['setup_p50_ms']} / {r['setup_p99_ms']} | "
            f"{r['cpu_pct']} % | {r['rss_mb']} | {r['rss_kb_per_call']} | {r['packets_per_call']} | "
            f"{r['jitter_p50_ms']} / {r['jitter_p99_ms']} / {r['jitter_max_ms']} | {r['late_over_5ms_pct']} % |"
        )


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        table(sys.argv[2])
    else:
        line(sys.argv[1], sys.argv[2])
