#!/usr/bin/env python3
"""The dashboard's HTTP API through the real binary (docs/api.md).

A follow-mode pipeline with data flowing: status, sources, views, rows with since/limit,
graph, rejects, /metrics (Prometheus text), /healthz; the consistent error format; malformed,
oversized and path-traversal requests; token auth (missing/wrong token 401, Bearer header,
?token= turned into an HttpOnly cookie); a non-loopback address without auth exits 2.

usage: dashboard_api_test.py RUNNEL
"""
import http.client
import json
import os
import socket
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from dashboard_run import DashboardRun, get  # noqa: E402
from pipeline_files import write_file  # noqa: E402
from runnel_process import run_runnel  # noqa: E402
from waiting import wait_for  # noqa: E402

RUNNEL = sys.argv[1]
TOKEN = "0123456789abcdef0123456789abcdef"


def get_json(url, headers=None):
    status, _, body = get(url, headers)
    return status, json.loads(body)


def raw_request(url, data):
    """Sends raw bytes and returns the status line (or '' when the server closed)."""
    u = urllib.parse.urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(data)
        chunks = b""
        try:
            while b"\r\n" not in chunks:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks += chunk
        except ConnectionResetError:
            pass
    return chunks.split(b"\r\n", 1)[0].decode("latin-1")


def check_error(status, doc, want_status, want_code):
    assert status == want_status, (status, doc)
    assert set(doc) == {"error"}, doc
    assert doc["error"]["status"] == want_status and doc["error"]["code"] == want_code, doc
    assert doc["error"]["message"], doc


def test_api_with_data_flowing():
    with DashboardRun(RUNNEL) as run:
        base = run.url
        run.append([("a", 20.5, 40), ("b", 19.0, 50), ("a", 21.5, 42)])
        wait_for(lambda: get_json(base + "api/v1/status")[1]["sources"][0]["records"] == 3,
                 what="3 records in /api/v1/status")
        status, doc = get_json(base + "api/v1/status")
        assert status == 200
        assert [s["name"] for s in doc["sources"]] == ["env"]
        src = doc["sources"][0]
        assert src["records"] == 3 and src["rejects"] == 0, src
        assert src["watermark"] == 1_700_000_002_000, src
        assert [v["name"] for v in doc["views"]] == ["warm", "env_10s"]
        # A follow pipeline is checkpointed; it has no MQTT sink, so no outbox.
        assert isinstance(doc["checkpoint_age_ms"], int) and doc["checkpoint_age_ms"] >= 0, doc
        assert doc["outbox_depth"] is None, doc
        assert doc["process"]["rss_bytes"] > 0
        assert doc["sinks"] == [{"from": "env_10s", "description": "table env_10s",
                                 "rows_written": doc["sinks"][0]["rows_written"],
                                 "outbox_depth": None, "outbox_overflow": None}]

        status, doc = get_json(base + "api/v1/sources")
        assert status == 200 and [c["name"] for c in doc["sources"][0]["columns"]] == \
            ["device", "ts", "temp", "hum"]

        # The filtered view holds exactly the warm readings, newest first.
        wait_for(lambda: get_json(base + "api/v1/views/warm/rows")[1]["total"] == 2, what="2 warm rows")
        status, doc = get_json(base + "api/v1/views/warm/rows")
        assert status == 200
        assert [r["values"] for r in doc["rows"]] == [["a", 1_700_000_002_000, 21.5],
                                                      ["a", 1_700_000_000_000, 20.5]], doc
        assert doc["sequence"] == 2 and doc["evicted"] == 0

        # Changes after a sequence number, limited.
        status, doc = get_json(base + "api/v1/views/warm/rows?since=1&limit=5")
        assert status == 200 and doc["gap"] is False and doc["next"] == 2
        assert [(c["sequence"], c["diff"], c["values"]) for c in doc["changes"]] == \
            [(2, 1, ["a", 1_700_000_002_000, 21.5])], doc
        status, doc = get_json(base + "api/v1/views/warm/rows?since=0&limit=1")
        assert [c["sequence"] for c in doc["changes"]] == [1] and doc["next"] == 1

        # The window view with emit = "updates": the current rows are consolidated.
        status, doc = get_json(base + "api/v1/views/env_10s/rows")
        rows = sorted(r["values"] for r in doc["rows"])
        assert rows == [[1_700_000_000_000, 1_700_000_010_000, "a", 2, 21.0, 42.0],
                        [1_700_000_000_000, 1_700_000_010_000, "b", 1, 19.0, 50.0]], doc

        # More data shows up without restarting anything.
        run.append([("b", 25.0, 55)])
        wait_for(lambda: get_json(base + "api/v1/views/warm/rows")[1]["total"] == 3, what="new row")
        status, doc = get_json(base + "api/v1/views/warm")
        assert doc["name"] == "warm" and doc["kind"] == "view" and doc["inputs"] == ["env"]
        assert doc["description"] == "where + select"

        status, doc = get_json(base + "api/v1/graph")
        assert doc["edges"] == [{"from": "env", "to": "warm"}, {"from": "env", "to": "env_10s"},
                                {"from": "env_10s", "to": "sink:0"}], doc
        status, doc = get_json(base + "api/v1/devices")
        assert status == 200 and doc == {"devices": []}
        status, doc = get_json(base + "api/v1/rejects?limit=10")
        assert status == 200 and doc == {"rejects": []}

        # Prometheus text.
        wait_for(lambda: b'runnel_source_records_total{source="env"} 4' in get(base + "metrics")[2],
                 what="4 records in /metrics")
        status, headers, body = get(base + "metrics")
        text = body.decode()
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        for line in ["# HELP runnel_source_records_total Records the source emitted into the pipeline.",
                     "# TYPE runnel_source_records_total counter",
                     'runnel_source_rejects_total{source="env"} 0',
                     "# TYPE runnel_view_late_records_total counter",
                     'runnel_view_late_records_total{view="env_10s"} 0',
                     'runnel_view_changes_total{view="warm"} 3',
                     'runnel_source_watermark_milliseconds{source="env"} 1700000003000',
                     "runnel_dashboard_websocket_clients 0"]:
            assert line in text.splitlines(), (line, text)
        for line in text.splitlines():
            assert line.startswith("# HELP runnel_") or line.startswith("# TYPE runnel_") or \
                line.startswith("runnel_"), line

        assert get(base + "healthz")[:3:2] == (200, b"ok\n")
        assert get(base)[0] == 200 and b"<title>Runnel</title>" in get(base)[2]
        assert get(base + "uPlot.min.js")[0] == 200

        # One error format for every mistake.
        check_error(*get_json(base + "api/v1/views/nope/rows"), 404, "not_found")
        check_error(*get_json(base + "api/v1/sources/warm"), 404, "not_found")
        check_error(*get_json(base + "api/v1/nope"), 404, "not_found")
        check_error(*get_json(base + "api/v2/status"), 404, "not_found")
        check_error(*get_json(base + "nope.html"), 404, "not_found")
        check_error(*get_json(base + "api/v1/views/warm/rows?limit=0"), 400, "bad_parameter")
        check_error(*get_json(base + "api/v1/views/warm/rows?limit=1001"), 400, "bad_parameter")
        check_error(*get_json(base + "api/v1/views/warm/rows?since=-1"), 400, "bad_parameter")
        check_error(*get_json(base + "api/v1/views/warm/rows?since=x"), 400, "bad_parameter")
        check_error(*get_json(base + "api/v1/live"), 400, "websocket_required")
        status, headers, body = get(base + "api/v1/status", method="POST")
        check_error(status, json.loads(body), 405, "method_not_allowed")
        assert headers["Allow"] == "GET, HEAD"

        # Path traversal, plain and encoded: refused, never a file.
        for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2Fetc%2Fpasswd",
                     "/api/v1/../../etc/passwd", "/..%5c..%5cetc%5cpasswd"]:
            line = raw_request(base, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert line in ("HTTP/1.1 400 Bad Request", "HTTP/1.1 404 Not Found"), (path, line)
            conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc, timeout=10)
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            assert res.status in (400, 404) and b"root:" not in body, (path, res.status, body)

        # Malformed and oversized requests.
        line = raw_request(base, b"NOT A REQUEST\r\n\r\n")
        assert line == "" or line.split(" ")[1] == "400", line
        line = raw_request(base, b"GET /api/v1/status HTTP/9.9\r\n\r\n")
        assert line == "" or line.split(" ")[1] in ("400", "505"), line
        line = raw_request(base, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        assert line == "" or line.split(" ")[1] in ("413", "431", "400"), line
        line = raw_request(base, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert line == "" or line.split(" ")[1] in ("413", "414", "431", "400"), line
        conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc, timeout=10)
        conn.request("GET", "/api/v1/status", body=b"x" * 100)
        res = conn.getresponse()
        check_error(res.status, json.loads(res.read()), 413, "body_too_large")
        # The server still answers after all that.
        assert get(base + "healthz")[0] == 200
        assert run.stop() == 0


def test_token_auth():
    files = {"token.txt": TOKEN + "\n"}
    with DashboardRun(RUNNEL, dashboard='listen = "127.0.0.1:0"\ntoken_file = "token.txt"',
                      extra_files=files) as run:
        base = run.url
        for path in ["", "api/v1/status", "metrics", "app.js", "api/v1/views/warm/rows"]:
            check_error(*get_json(base + path), 401, "unauthorized")
        check_error(*get_json(base + "api/v1/status", {"Authorization": "Bearer wrong"}), 401,
                    "unauthorized")
        check_error(*get_json(base + "api/v1/status", {"Authorization": "Bearer " + TOKEN[:-1]}),
                    401, "unauthorized")
        check_error(*get_json(base + "api/v1/status", {"Cookie": "runnel_token=nope"}), 401,
                    "unauthorized")
        status, _, _ = get(base + "api/v1/status", {"Authorization": "Bearer " + TOKEN})
        assert status == 200
        assert get(base + "healthz")[0] == 200  # liveness probes need no token

        # ?token= once: a redirect that sets an HttpOnly cookie and drops the token from the URL.
        conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc, timeout=10)
        conn.request("GET", "/?token=" + TOKEN + "&x=1")
        res = conn.getresponse()
        res.read()
        assert res.status == 303 and res.getheader("Location") == "/?x=1", res.getheaders()
        cookie = res.getheader("Set-Cookie")
        assert cookie == f"runnel_token={TOKEN}; Path=/; HttpOnly; SameSite=Strict", cookie
        status, _, body = get(base, {"Cookie": "runnel_token=" + TOKEN})
        assert status == 200 and b"<title>Runnel</title>" in body
        # The token never appears in the log.
        assert TOKEN not in run.stderr_text()
        assert run.stop() == 0


def run_to_exit(pipeline_text, extra_files=None):
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "logs"))
        for name, text in (extra_files or {}).items():
            write_file(os.path.join(d, name), text)
        path = write_file(os.path.join(d, "p.toml"), pipeline_text)
        return run_runnel(RUNNEL, "run", path, "--state-dir", os.path.join(d, "s"), cwd=d,
                          timeout=20)


FOLLOW = """
[[source]]
name = "env"
file = "logs"
format = "csv"
mode = "follow"
time = "ts"
fields = { device = "string", ts = "int" }
"""


def test_refusals_at_start():
    r = run_to_exit('[dashboard]\nlisten = "0.0.0.0:0"\n' + FOLLOW)
    assert r.returncode == 2, r
    assert "p.toml:2: dashboard.listen: \"0.0.0.0:0\" is reachable from the network, so the " \
        "dashboard needs authentication (set token_file, or insecure = true to serve it to " \
        "anyone)" in r.stderr, r.stderr
    r = run_to_exit('[dashboard]\nlisten = "127.0.0.1:0"\ntoken_file = "missing.txt"\n' + FOLLOW)
    assert r.returncode == 2 and "token_file" in r.stderr and "cannot be read" in r.stderr, r.stderr
    r = run_to_exit('[dashboard]\nlisten = "127.0.0.1:0"\ntoken_file = "t"\n' + FOLLOW,
                    {"t": "short\n"})
    assert r.returncode == 2 and "at least 16 characters" in r.stderr, r.stderr
    # A port that is taken: a runtime failure that names the address and the way out.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_to_exit(f'[dashboard]\nlisten = "127.0.0.1:{port}"\n' + FOLLOW)
    assert r.returncode == 1, r
    assert f"dashboard: cannot serve on 127.0.0.1:{port}" in r.stderr and "--no-dashboard" in r.stderr, r.stderr


if __name__ == "__main__":
    test_api_with_data_flowing()
    test_token_auth()
    test_refusals_at_start()
    print("dashboard API: all checks passed")
