#!/usr/bin/env python3
"""Helpers for bench/run.sh (stdlib only).

  report.py cpu PID                  utime+stime (clock ticks) of PID and all its descendants
  report.py dnsperf OUT [OUT...]     merge dnsperf summaries -> "sent completed lost qps avg_ms sd_ms"
  report.py pct VOUT [VOUT...]       latency percentiles from dnsperf -v output -> "n p50_ms p99_ms p999_ms timeouts"
  report.py persec OUT               per-second qps lines from dnsperf -S 1 -> "min median max n"
  report.py table RESULTS.tsv        summary table (medians over rounds, epdns/reference ratios)
  report.py tree PID                 PID and its descendants, one per line
  report.py flap SECONDS INTERVAL_MS "EP..." "ZONE..."
                                     toggle ENI overrides on the admin API at 127.0.0.1:8053
                                     (down, then up on the next tick) -> "toggles ok fail max_ms"
"""
import math
import os
import re
import statistics
import sys


def proc_tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(root):
    total = 0
    for p in proc_tree(root):
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        # fields 14 and 15 of stat (utime, stime) are rest[11], rest[12]
        total += int(rest[11]) + int(rest[12])
    return total


def num(pat, text, default=0.0):
    m = re.search(pat, text)
    return float(m.group(1)) if m else default


def dnsperf_summary(paths):
    sent = comp = lost = qps = 0.0
    lat_w = sd_w = 0.0
    for p in paths:
        t = open(p, errors="replace").read()
        s = num(r"Queries sent:\s+(\d+)", t)
        c = num(r"Queries completed:\s+(\d+)", t)
        l = num(r"Queries lost:\s+(\d+)", t)
        q = num(r"Queries per second:\s+([\d.]+)", t)
        a = num(r"Average Latency \(s\):\s+([\d.]+)", t)
        d = num(r"Latency StdDev \(s\):\s+([\d.]+)", t)
        sent += s; comp += c; lost += l; qps += q
        lat_w += a * c; sd_w += d * c
    avg = lat_w / comp * 1000 if comp else float("nan")
    sd = sd_w / comp * 1000 if comp else float("nan")  # completion-weighted, approximate when merged
    return "%d %d %d %.0f %.3f %.3f" % (sent, comp, lost, qps, avg, sd)


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(math.ceil(p / 100.0 * len(sorted_vals))) - 1))
    return sorted_vals[k]


def pct(paths):
    lat, timeouts = [], 0
    for p in paths:
        with open(p, errors="replace") as f:
            for line in f:
                if not line.startswith("> "):
                    continue
                parts = line.split()
                if parts[1] in ("T", "I"):
                    timeouts += 1
                    continue
                try:
                    lat.append(float(parts[-1]))
                except ValueError:
                    pass
    lat.sort()
    return "%d %.3f %.3f %.3f %d" % (len(lat), percentile(lat, 50) * 1000,
                                     percentile(lat, 99) * 1000, percentile(lat, 99.9) * 1000,
                                     timeouts)


def persec(path):
    vals = []
    for line in open(path, errors="replace"):
        m = re.match(r"^\d+\.\d+: ([\d.]+)$", line.strip())
        if m:
            vals.append(float(m.group(1)))
    # dnsperf 2.10 prints its first -S sample right at the start (~0 qps): drop it
    vals = vals[1:]
    if not vals:
        return "nan nan nan 0"
    return "%.0f %.0f %.0f %d" % (min(vals), statistics.median(vals), max(vals), len(vals))


COLS = ["size", "workload", "round", "server", "sent", "completed", "lost", "qps",
        "avg_ms", "sd_ms", "cpu_us_per_q", "p50_ms", "p99_ms", "p999_ms", "lat_n", "lat_timeouts", "srv_busy_pct"]


def fnum(x):
    try:
        return float(x)
    except ValueError:
        return float("nan")


def med(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")


def fmt(v, nd=0):
    if isinstance(v, float) and math.isnan(v):
        return "-"
    return ("%%.%df" % nd) % v


def table(path):
    rows = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        rows.append(dict(zip(COLS, f)))
    cells = []  # (size, workload) in first-seen order
    servers = []
    for r in rows:
        c = (r["size"], r["workload"])
        if c not in cells:
            cells.append(c)
        if r["server"] not in servers:
            servers.append(r["server"])
    hdr = ("%-6s %-6s %-6s %6s %9s %8s %8s %8s %8s %7s %8s %6s %10s %10s"
           % ("size", "load", "server", "rounds", "qps", "avg_ms", "p50_ms", "p99_ms",
              "p999_ms", "lost", "cpu_us/q", "busy%", "qps e/ref", "cpu e/ref"))
    print(hdr)
    print("-" * len(hdr))
    for (size, wl) in cells:
        by = {}
        for r in rows:
            if (r["size"], r["workload"]) == (size, wl):
                by.setdefault(r["server"], {})[r["round"]] = r
        for srv in servers:
            if srv not in by:
                continue
            rr = by[srv]
            qps = med([fnum(r["qps"]) for r in rr.values()])
            cpu = med([fnum(r["cpu_us_per_q"]) for r in rr.values()])
            lost = sum(int(fnum(r["lost"])) for r in rr.values())
            qr = cr = ""
            if srv != "epdns" and "epdns" in by:
                # ratio epdns/reference per round (same round = adjacent runs), median of those
                e = by["epdns"]
                qrs = [fnum(e[k]["qps"]) / fnum(rr[k]["qps"]) for k in rr if k in e and fnum(rr[k]["qps"]) > 0]
                crs = [fnum(e[k]["cpu_us_per_q"]) / fnum(rr[k]["cpu_us_per_q"]) for k in rr
                       if k in e and fnum(rr[k]["cpu_us_per_q"]) > 0]
                qr = fmt(med(qrs), 2) if qrs else "-"
                cr = fmt(med(crs), 2) if crs else "-"
            print("%-6s %-6s %-6s %6d %9s %8s %8s %8s %8s %7d %8s %6s %10s %10s" % (
                size, wl, srv, len(rr), fmt(qps), fmt(med([fnum(r["avg_ms"]) for r in rr.values()]), 3),
                fmt(med([fnum(r["p50_ms"]) for r in rr.values()]), 3),
                fmt(med([fnum(r["p99_ms"]) for r in rr.values()]), 3),
                fmt(med([fnum(r["p999_ms"]) for r in rr.values()]), 3),
                lost, fmt(cpu, 2), fmt(med([fnum(r.get("srv_busy_pct", "nan")) for r in rr.values()])), qr, cr))


def flap(seconds, interval_ms, endpoints, zones):
    """Toggle (endpoint, zone) overrides: down on one tick, up on the next. Loopback only."""
    import http.client
    import json
    import time
    host, port = "127.0.0.1", 8053  # admin API; never anything but loopback
    pairs = [(e, z) for e in endpoints for z in zones]
    conn = None
    ok = fail = toggles = 0
    worst = 0.0
    start = time.monotonic()
    tick = 0
    pending = None  # (ep, zone) currently forced down
    while True:
        due = start + tick * interval_ms / 1000.0
        now = time.monotonic()
        if now - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        if pending is None:
            ep, zone = pairs[(tick // 2) % len(pairs)]
            state = "down"
        else:
            (ep, zone), state = pending, "up"
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=1.0)
            conn.request("PUT", "/v1/endpoints/%s/zones/%s/override" % (ep, zone),
                         body=json.dumps({"state": state}),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if 200 <= r.status < 300:
                ok += 1
            else:
                fail += 1
        except (OSError, http.client.HTTPException):
            fail += 1
            conn = None
        worst = max(worst, (time.monotonic() - t0) * 1000)
        toggles += 1
        pending = (ep, zone) if state == "down" else None
        tick += 1
    # leave everything up
    if pending is not None:
        try:
            c = http.client.HTTPConnection(host, port, timeout=1.0)
            c.request("PUT", "/v1/endpoints/%s/zones/%s/override" % pending,
                      body=json.dumps({"state": "up"}), headers={"Content-Type": "application/json"})
            c.getresponse().read()
        except (OSError, http.client.HTTPException):
            pass
    return "%d %d %d %.1f" % (toggles, ok, fail, worst)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "cpu":
        print(cpu_ticks(int(args[0])))
    elif cmd == "dnsperf":
        print(dnsperf_summary(args))
    elif cmd == "pct":
        print(pct(args))
    elif cmd == "persec":
        print(persec(args[0]))
    elif cmd == "tree":
        print("\n".join(str(p) for p in proc_tree(int(args[0]))))
    elif cmd == "flap":
        print(flap(float(args[0]), float(args[1]), args[2].split(), args[3].split()))
    elif cmd == "table":
        table(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
