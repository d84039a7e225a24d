#!/usr/bin/env python3
"""Turns one capacity run's raw records into a CSV line, or prints the results table.

    report.py --header                                          the CSV header
    report.py --label L --level N --secs S --call-secs C RUN    one CSV line for results.csv
    report.py --table RESULTS                                   the table for docs/performance.md
    report.py --bridge-header                                   bridged calls (bench-bridge.sh):
    report.py --bridge --label L --level N --teams T --database DB RUN     one CSV line
    report.py --bridge-table RESULTS                            the table
    report.py --signatures PAYLOAD                              bench-bridge.sh's latency filter

The steady part of a run is from the end of the ramp (call_secs + 5 s after SIPp's first call)
to the moment SIPp placed its last call: every figure per call is over that window.
"""
import argparse
import csv
import glob
import re
import sqlite3
import struct
import sys
from collections import defaultdict

COLUMNS = [
    "label", "level", "load1", "attempted", "completed", "failed", "live_calls",
    "cpu_pct", "cpu_pct_per_call", "rtp_per_call_s", "intervals_over_5ms_pct", "jitter_streams",
    "jitter_p50_ms", "jitter_p99_ms", "jitter_max_ms", "setup_p50_ms", "setup_p99_ms",
    "setup_max_ms", "rss_peak_mb",
]


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def sipp_stats(run):
    """(unix time, current calls) per second, and the last line's created/successful/failed."""
    files = glob.glob(f"{run}/*_.csv")
    if not files:
        return [], (0, 0, 0)
    with open(files[0]) as f:
        rows = [r for r in csv.reader(f, delimiter=";") if r]
    header, body = rows[0], rows[1:]
    col = header.index
    # CurrentTime reads "date<TAB>time<TAB>unix seconds".
    series = [(float(r[col("CurrentTime")].split("\t")[-1]), int(r[col("CurrentCall")])) for r in body]
    last = body[-1]
    counts = tuple(int(last[col(n)]) for n in ("TotalCallCreated", "SuccessfulCall(C)", "FailedCall(C)"))
    return series, counts


def setup_times(run):
    """INVITE→200 per call (ms), from SIPp's -trace_rtt."""
    times = []
    for path in glob.glob(f"{run}/*_rtt.csv"):
        with open(path) as f:
            for row in csv.reader(f, delimiter=";"):
                try:
                    times.append(float(row[1]))
                except (IndexError, ValueError):
                    continue  # the header
    return times


def process_samples(run):
    rows = []
    with open(f"{run}/process.csv") as f:
        for row in csv.reader(f):
            rows.append((float(row[0]), float(row[1]), int(row[2]), int(row[3])))
    return rows


def at(rows, t):
    """The sample nearest to time t."""
    return min(rows, key=lambda r: abs(r[0] - t))


def jitter(run):
    """Inter-arrival deviations from 20 ms (ms) of the sampled streams, one stream per SSRC."""
    try:
        data = open(f"{run}/sample.pcap", "rb").read()
    except FileNotFoundError:
        return [], 0
    if len(data) < 24:
        return [], 0
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nanos = struct.unpack(endian + "I", data[:4])[0] == 0xA1B23C4D
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_header = {1: 14, 113: 16, 276: 20}.get(linktype, 14)  # Ethernet, Linux cooked v1/v2
    streams = defaultdict(list)
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = pkt[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:]
        rtp = udp[8:]
        if len(rtp) < 12:
            continue
        ssrc = struct.unpack("!I", rtp[8:12])[0]
        streams[ssrc].append(sec + frac / (1e9 if nanos else 1e6))
    deviations = []
    used = 0
    for times in streams.values():
        if len(times) < 50:
            continue  # too short to judge pacing
        used += 1
        deviations += [abs((b - a) * 1000 - 20.0) for a, b in zip(times, times[1:])]
    return deviations, used


def line(args):
    run = args.run
    series, (attempted, ok, failed) = sipp_stats(run)
    samples = process_samples(run)
    start = series[0][0] if series else samples[0][0]
    lo, hi = start + args.call_secs + 5, start + args.secs
    window = [c for t, c in series if lo <= t <= hi]
    live = sum(window) / len(window) if window else float("nan")
    a, b = at(samples, lo), at(samples, hi)
    seconds = b[0] - a[0]
    cpu = (b[1] - a[1]) / seconds * 100 if seconds > 0 else float("nan")
    rtp = (b[3] - a[3]) / seconds / live if seconds > 0 and live else float("nan")
    deviations, streams = jitter(run)
    late = 100 * sum(1 for d in deviations if d > 5) / len(deviations) if deviations else float("nan")
    setup = setup_times(run)
    load = open(f"{run}/uptime").read().split("load average:")[1].split(",")[0].strip()
    fields = [
        args.label, args.level, load, attempted, ok, failed, f"{live:.0f}", f"{cpu:.1f}",
        f"{cpu / live:.4f}" if live else "nan", f"{rtp:.1f}", f"{late:.2f}", streams,
        f"{percentile(deviations, 50):.2f}", f"{percentile(deviations, 99):.2f}",
        f"{max(deviations) if deviations else float('nan'):.1f}",
        f"{percentile(setup, 50):.0f}", f"{percentile(setup, 99):.0f}",
        f"{max(setup) if setup else float('nan'):.0f}",
        f"{max(r[2] for r in samples) / 1024:.0f}",
    ]
    print(",".join(str(f) for f in fields))


BRIDGE_COLUMNS = [
    "label", "level", "teams", "load1", "attempted", "failed_callers", "failed_technicians",
    "bridged", "live_bridged", "steady_s", "cpu_pct", "cpu_pct_per_call", "rtp_in_per_call_s",
    "rtp_out_per_call_s", "forwarded_pct", "relay_delay_frames", "relay_delay_p50_ms",
    "relay_delay_p99_ms", "intervals_over_5ms_pct", "jitter_streams", "jitter_p50_ms",
    "jitter_p99_ms", "jitter_max_ms", "setup_p50_ms", "setup_p99_ms", "bridged_p50_ms",
    "bridged_p99_ms", "route_p50_ms", "route_p99_ms", "rings_per_call", "rung_twice",
    "took_two", "by_primary", "by_secondary", "by_lead", "rss_peak_mb",
]


def timelines(database):
    """Per ticket: INVITE→bridged and route→bridged (ms), and who was rung and who took it."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    created = dict(db.execute("SELECT id, created_at FROM tickets"))
    routed, answered, rung = {}, {}, []
    for ticket, at, kind, detail in db.execute(
        "SELECT ticket_id, at, kind, detail FROM ticket_events WHERE kind IN "
        "('routing_attempt', 'ringing', 'technician_answered') ORDER BY id"
    ):
        if kind == "routing_attempt":
            routed.setdefault(ticket, at)
        elif kind == "ringing":
            rung.append(detail.split(":")[0])
        else:
            answered[ticket] = (at, detail.split(" on ")[0])
    bridged = [at - created[t] for t, (at, _) in answered.items()]
    route = [at - routed[t] for t, (at, _) in answered.items() if t in routed]
    return bridged, route, rung, [who for _, who in answered.values()]


def signatures(payload_file, count=4):
    """A tcpdump clause that keeps RTP packets carrying one of `count` frames of the streamed
    file (by their first four payload bytes, udp[20:4]), chosen unique in the file and spread
    through it: every stream sends each of them once a loop (20 s), a few packets a second in
    all, so the capture costs nothing next to the calls."""
    data = open(payload_file, "rb").read()
    frames = [data[i:i + 160] for i in range(0, len(data) - 159, 160)]
    heads = defaultdict(int)
    for f in frames:
        heads[f[:4]] += 1
    unique = [i for i, f in enumerate(frames) if heads[f[:4]] == 1 and len(set(f[:16])) > 8]
    chosen = [unique[round(k * (len(unique) - 1) / max(1, count - 1))] for k in range(count)]
    return " or ".join(f"udp[20:4] = 0x{frames[i][:4].hex()}" for i in sorted(set(chosen)))


def relay_latency(run, media_ports, lo=0.0, hi=float("inf")):
    """The relay's added delay (ms): a frame's arrival from one phone to its departure to the
    other, both seen by the capture on the loopback (latency.pcap: only the signature frames).
    A frame is recognised by its first payload bytes (G.711 decoded and encoded again comes out
    the same); the two legs of a call by the server ports that carry the same frames most
    often, so a frame another caller sent at about the same moment is not mistaken for it.
    Only frames that arrived between `lo` and `hi` (Unix time) count."""
    try:
        data = open(f"{run}/latency.pcap", "rb").read()
    except FileNotFoundError:
        return []
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nanos = struct.unpack(endian + "I", data[:4])[0] == 0xA1B23C4D
    link_header = {1: 14, 113: 16, 276: 20}.get(struct.unpack(endian + "I", data[20:24])[0], 14)
    arrivals, departures = defaultdict(list), defaultdict(list)
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = pkt[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:]
        if len(udp) < 36:
            continue
        sport, dport = struct.unpack("!HH", udp[:4])
        t = sec + frac / (1e9 if nanos else 1e6)
        key = bytes(udp[20:36])
        if sport in media_ports:
            arrivals[key].append((t, dport, sport))
        elif dport in media_ports:
            departures[key].append((t, sport, dport))
    # Candidate pairs: a departure of the same frame to the other kind of phone within 200 ms.
    candidates = []
    for key, ins in arrivals.items():
        outs = sorted(departures.get(key, []))
        for t, port_in, phone in ins:
            for t2, port_out, to in outs:
                if to != phone and 0 <= t2 - t <= 0.2:
                    candidates.append((port_in, port_out, t, t2 - t))
    votes = defaultdict(int)
    for port_in, port_out, _, _ in candidates:
        votes[(port_in, port_out)] += 1
    partner = {}
    for (port_in, port_out), n in sorted(votes.items(), key=lambda kv: -kv[1]):
        partner.setdefault(port_in, port_out)
    # One delay per arrival: the first departure of that frame on the partner leg.
    best = {}
    for port_in, port_out, t, d in candidates:
        if partner.get(port_in) == port_out and lo <= t <= hi:
            best[(port_in, t)] = min(d, best.get((port_in, t), d))
    return [d * 1000 for d in best.values()]


def bridge_line(args):
    """One CSV line for a bridged-calls level (scripts/bench-bridge.sh). The steady part is the
    seconds in which the technicians' SIPp had (within 1 %) its most calls up, less 2 s at each
    end: every call bridged, none ringing or in the IVR."""
    run = args.run
    _, (attempted, _, failed_callers) = sipp_stats(run)
    tech_series, (_, _, failed_techs) = sipp_stats(f"{run}/technicians")
    samples = process_samples(run)
    peak = max((c for _, c in tech_series), default=0)
    full = [t for t, c in tech_series if peak and c >= 0.99 * peak]
    lo, hi = (full[0] + 2, full[-1] - 2) if full else (0, 0)
    window = [c for t, c in tech_series if lo <= t <= hi]
    live = sum(window) / len(window) if window else float("nan")
    a, b = at(samples, lo), at(samples, hi)
    seconds = b[0] - a[0]
    steady = seconds > 0 and live == live and live > 0
    cpu = (b[1] - a[1]) / seconds * 100 if seconds > 0 else float("nan")
    with open(f"{run}/process.csv") as f:
        rows = {float(r[0]): r for r in csv.reader(f)}
    ra, rb = rows[a[0]], rows[b[0]]
    rtp_in = (int(rb[3]) - int(ra[3])) / seconds / live if steady else float("nan")
    rtp_out = (int(rb[4]) - int(ra[4])) / seconds / live if steady and len(ra) > 4 else float("nan")
    deviations, streams = jitter(run)
    late = 100 * sum(1 for d in deviations if d > 5) / len(deviations) if deviations else float("nan")
    delay = relay_latency(run, set(args.media_ports), lo, hi)
    setup = setup_times(run)
    bridged, route, rung, took = timelines(args.database)
    # Who held which position when the calls came: `hotline oncall now`, saved by the script
    # ("t000: primary t000b (available), secondary t000a (…), lead t000c (…)").
    position = {}
    with open(f"{run}/oncall.txt") as f:
        for line in f:
            for m in re.finditer(r"(primary|secondary|lead) (\S+)", line):
                position[m.group(2)] = m.group(1)
    taken_by = [position.get(t) for t in took]
    load = open(f"{run}/uptime").read().split("load average:")[1].split(",")[0].strip()
    twice = sum(n - 1 for n in (rung.count(t) for t in set(rung)) if n > 1)
    took_two = sum(1 for t in set(took) if took.count(t) > 1)
    fields = [
        args.label, args.level, args.teams, load, attempted, failed_callers, failed_techs,
        len(bridged), f"{live:.0f}", f"{seconds:.0f}", f"{cpu:.1f}",
        f"{cpu / live:.4f}" if steady else "nan", f"{rtp_in:.1f}", f"{rtp_out:.1f}",
        f"{100 * rtp_out / rtp_in:.2f}" if steady and rtp_in else "nan", len(delay),
        f"{percentile(delay, 50):.1f}", f"{percentile(delay, 99):.1f}", f"{late:.2f}",
        streams, f"{percentile(deviations, 50):.2f}", f"{percentile(deviations, 99):.2f}",
        f"{max(deviations) if deviations else float('nan'):.1f}",
        f"{percentile(setup, 50):.0f}", f"{percentile(setup, 99):.0f}",
        f"{percentile(bridged, 50):.0f}", f"{percentile(bridged, 99):.0f}",
        f"{percentile(route, 50):.0f}", f"{percentile(route, 99):.0f}",
        f"{len(rung) / len(bridged):.2f}" if bridged else "nan", twice, took_two,
        taken_by.count("primary"), taken_by.count("secondary"), taken_by.count("lead"),
        f"{max(r[2] for r in samples) / 1024:.0f}",
    ]
    print(",".join(str(f) for f in fields))


def bridge_table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    print("| build | calls (bridged at once, steady s) | load before | CPU % of a core per bridged call | server CPU | RTP in / out per bridged call-second (forwarded) | relay delay p50 / p99 (ms), frames | jitter p50 / p99 / max (ms), sampled streams | INVITE→200 p50 / p99 (ms) | INVITE→bridged p50 / p99 (ms) | route→bridged p50 / p99 (ms) | bridged / attempted, failed (callers, technicians) | rings per call, rung twice, took two | taken by primary / secondary / lead | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['label']} | {r['level']} ({r['live_bridged']}, {r['steady_s']} s) | {r['load1']} | "
            f"{r['cpu_pct_per_call']} | {r['cpu_pct']} % | {r['rtp_in_per_call_s']} / {r['rtp_out_per_call_s']} "
            f"({r.get('forwarded_pct', 'nan')} %) | {r.get('relay_delay_p50_ms', 'nan')} / "
            f"{r.get('relay_delay_p99_ms', 'nan')}, {r.get('relay_delay_frames', 0)} | "
            f"{r['jitter_p50_ms']} / {r['jitter_p99_ms']} / {r['jitter_max_ms']}, {r['jitter_streams']} | "
            f"{r['setup_p50_ms']} / {r['setup_p99_ms']} | {r['bridged_p50_ms']} / {r['bridged_p99_ms']} | "
            f"{r['route_p50_ms']} / {r['route_p99_ms']} | {r['bridged']} / {r['attempted']}, "
            f"{r['failed_callers']}, {r['failed_technicians']} | {r['rings_per_call']}, {r['rung_twice']}, "
            f"{r['took_two']} | {r['by_primary']} / {r['by_secondary']} / {r['by_lead']} | {r['rss_peak_mb']} |"
        )


def table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    print("| build | calls (live in steady part) | load before | CPU % of a core per live call | server CPU | RTP sent per call-second | jitter p50 / p99 / max (ms), sampled streams | INVITE→200 p50 / p99 / max (ms) | failed / attempted | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['label']} | {r['level']} ({r['live_calls']}) | {r['load1']} | {r['cpu_pct_per_call']} | "
            f"{r['cpu_pct']} % | {r['rtp_per_call_s']} | {r['jitter_p50_ms']} / {r['jitter_p99_ms']} / "
            f"{r['jitter_max_ms']}, {r['jitter_streams']} | {r['setup_p50_ms']} / {r['setup_p99_ms']} / "
            f"{r['setup_max_ms']} | {r['failed']} / {r['attempted']} | {r['rss_peak_mb']} |"
        )


if __name__ == "__main__":
    if sys.argv[1] == "--header":
        print(",".join(COLUMNS))
    elif sys.argv[1] == "--bridge-header":
        print(",".join(BRIDGE_COLUMNS))
    elif sys.argv[1] == "--bridge-table":
        bridge_table(sys.argv[2])
    elif sys.argv[1] == "--bridge":
        p = argparse.ArgumentParser()
        p.add_argument("--bridge", action="store_true")
        p.add_argument("--label")
        p.add_argument("--level", type=int)
        p.add_argument("--teams", type=int)
        p.add_argument("--database")
        p.add_argument("--media-ports", type=int, nargs=2, default=[44000, 48000])
        p.add_argument("run")
        bridge_line(p.parse_args())
    elif sys.argv[1] == "--signatures":
        print(signatures(sys.argv[2]))
    elif sys.argv[1] == "--table":
        table(sys.argv[2])
    else:
        p = argparse.ArgumentParser()
        p.add_argument("--label")
        p.add_argument("--level", type=int)
        p.add_argument("--secs", type=float)
        p.add_argument("--call-secs", type=float)
        p.add_argument("run")
        line(p.parse_args())
