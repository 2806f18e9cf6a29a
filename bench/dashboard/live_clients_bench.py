#!/usr/bin/env python3
"""Dashboard benchmark (docs/benchmarks.md): ingest throughput of a follow-mode pipeline with 0
and then 5 live WebSocket clients in the same run, and the API's p99 latency under wrk.

Each round appends ROWS readings to the followed CSV at once and times how long runnel takes to
read them all (from /api/v1/status). Rounds alternate between no clients and 5 clients that
follow the source's change feed (every record is a change: the heaviest live traffic) and
read every message. Prints a markdown table.

usage: live_clients_bench.py RUNNEL [ROWS] [ROUNDS]
"""
import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "web"))
from dashboard_run import DashboardRun, get  # noqa: E402

RUNNEL = sys.argv[1]
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3


class WsClient(threading.Thread):
    """A minimal WebSocket reader (RFC 6455 client handshake, unmasked server frames)."""

    def __init__(self, url, path):
        super().__init__(daemon=True)
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.messages = 0
        self.bytes = 0
        self.running = True

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def run(self):
        try:
            while self.running:
                b0, b1 = self.recv_exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(self.recv_exact(2), "big")
                elif n == 127:
                    n = int.from_bytes(self.recv_exact(8), "big")
                self.recv_exact(n)
                self.messages += 1
                self.bytes += n
        except (EOFError, OSError):
            pass

    def close(self):
        self.running = False
        self.sock.close()


def records(url):
    return json.loads(get(url + "api/v1/status")[2])["sources"][0]["records"]


def ingest(run, expected):
    rows = [("dev%d" % (i % 50), 20 + (i % 10) / 10, 50) for i in range(ROWS)]
    start = time.perf_counter()
    run.append(rows)
    while records(run.url) < expected:
        time.sleep(0.01)
    return ROWS / (time.perf_counter() - start)


def main():
    with DashboardRun(RUNNEL) as run:
        total = 0
        results = {0: [], 5: []}
        traffic = []
        for _ in range(ROUNDS):
            for clients in (0, 5):
                ws = [WsClient(run.url, "/api/v1/live?view=env") for _ in range(clients)]
                for c in ws:
                    c.start()
                total += ROWS
                results[clients].append(ingest(run, total))
                time.sleep(0.5)
                if ws:
                    traffic.append(sum(c.bytes for c in ws))
                for c in ws:
                    c.close()
        wrk = subprocess.run(["wrk", "-t2", "-c10", "-d10s", "--latency", run.url + "api/v1/status"],
                             capture_output=True, text=True, check=True).stdout
        metrics_wrk = subprocess.run(["wrk", "-t2", "-c10", "-d10s", "--latency", run.url + "metrics"],
                                     capture_output=True, text=True, check=True).stdout
        skipped = re.search(r"runnel_dashboard_websocket_skipped_total (\d+)", get(run.url + "metrics")[2].decode()).group(1)

    def pct(text, p):
        return re.search(rf"^\s+{p}%\s+(\S+)", text, re.M).group(1)

    def rps(text):
        return re.search(r"Requests/sec:\s+(\S+)", text).group(1)

    base, live = statistics.median(results[0]), statistics.median(results[5])
    print(f"| clients | median ingest rate (records/s) over {ROUNDS} rounds of {ROWS} records |")
    print("|---|---|")
    print(f"| 0 | {base:,.0f} (rounds: {', '.join(f'{r:,.0f}' for r in results[0])}) |")
    print(f"| 5 | {live:,.0f} (rounds: {', '.join(f'{r:,.0f}' for r in results[5])}) |")
    print(f"\n5 clients vs none: {100 * (live - base) / base:+.1f}%; WebSocket bytes per client per "
          f"round: {statistics.median(traffic) / 5:,.0f}; slow-client skips: {skipped}")
    print("\n| endpoint (wrk -t2 -c10 -d10s) | requests/s | p50 | p99 |")
    print("|---|---|---|---|")
    print(f"| /api/v1/status | {rps(wrk)} | {pct(wrk, 50)} | {pct(wrk, 99)} |")
    print(f"| /metrics | {rps(metrics_wrk)} | {pct(metrics_wrk, 50)} | {pct(metrics_wrk, 99)} |")


if __name__ == "__main__":
    main()
