#!/usr/bin/env python3
"""The dashboard over HTTPS, through the real binary (docs/dashboard.md#configuration).

A CA and a server certificate for 127.0.0.1 are made with openssl at test time (the MQTT
fixture's make_test_pki). runnel runs with [dashboard] cert_file/key_file/token_file; a client
that trusts only that CA gets /healthz, the API with the token (401 without), and the token
cookie marked Secure; plain HTTP on the same port serves nothing; a key that does not match the
certificate stops the run (exit 1) with a message that names both files.

usage: dashboard_https_test.py RUNNEL
"""
import http.client
import json
import os
import socket
import ssl
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from dashboard_run import DashboardRun  # noqa: E402
from mosquitto_broker import make_test_pki  # noqa: E402
from runnel_process import run_runnel  # noqa: E402
from waiting import wait_for  # noqa: E402

RUNNEL = sys.argv[1]
TOKEN = "fedcba9876543210fedcba9876543210"
DASHBOARD = """listen = "127.0.0.1:0"
token_file = "token.txt"
cert_file = "server.pem"
key_file = "{key}"
"""


def https_get(netloc, context, path, headers=None):
    """(status, headers, body, TLS version) over HTTPS, trusting only `context`'s CA."""
    conn = http.client.HTTPSConnection(netloc, context=context, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        body = res.read()
        return res.status, res.headers, body, conn.sock.version()
    finally:
        conn.close()


def plain_http_answer(netloc, path):
    """What the port sends back to a plain-text HTTP request (b'' when it just closes)."""
    u = urllib.parse.urlparse("//" + netloc)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\n"
                  f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    return data


def test_https():
    run = DashboardRun(RUNNEL, dashboard=DASHBOARD.format(key="server.key"),
                       extra_files={"token.txt": TOKEN + "\n"})
    try:
        make_test_pki(run.root)
        run.start()
        assert run.url.startswith("https://127.0.0.1:"), run.url
        assert "dashboard: " + run.url in run.stderr_text(), run.stderr_text()
        netloc = urllib.parse.urlparse(run.url).netloc
        context = ssl.create_default_context(cafile=os.path.join(run.root, "ca.pem"))

        status, _, body, version = https_get(netloc, context, "/healthz")
        assert (status, body) == (200, b"ok\n"), (status, body)
        assert version in ("TLSv1.2", "TLSv1.3"), version

        # The API with the token, and data flowing through it.
        run.append([("a", 20.5, 40), ("b", 19.0, 50), ("a", 21.5, 42)])
        auth = {"Authorization": "Bearer " + TOKEN}

        def records():
            status, _, body, _ = https_get(netloc, context, "/api/v1/status", auth)
            assert status == 200, (status, body)
            return json.loads(body)["sources"][0]["records"] == 3
        wait_for(records, what="3 records in /api/v1/status over HTTPS")
        status, _, body, _ = https_get(netloc, context, "/api/v1/views/warm/rows", auth)
        assert status == 200, (status, body)
        assert [r["values"] for r in json.loads(body)["rows"]] == \
            [["a", 1_700_000_002_000, 21.5], ["a", 1_700_000_000_000, 20.5]], body

        # Without the token, or with a wrong one: 401 in the API's error format.
        for headers in ({}, {"Authorization": "Bearer " + TOKEN[:-1] + "1"}):
            status, res_headers, body, _ = https_get(netloc, context, "/api/v1/status", headers)
            doc = json.loads(body)
            assert status == 401 and doc["error"]["code"] == "unauthorized", (status, doc)
            assert res_headers["WWW-Authenticate"] == 'Bearer realm="runnel"'

        # Over HTTPS the token cookie is Secure.
        status, res_headers, _, _ = https_get(netloc, context, "/?token=" + TOKEN)
        assert status == 303 and res_headers["Location"] == "/", (status, res_headers)
        assert res_headers["Set-Cookie"] == \
            f"runnel_token={TOKEN}; Path=/; HttpOnly; SameSite=Strict; Secure", res_headers
        status, _, body, _ = https_get(netloc, context, "/",
                                       {"Cookie": "runnel_token=" + TOKEN})
        assert status == 200 and b"<title>Runnel</title>" in body

        # A client that does not trust the test CA refuses the server's certificate.
        untrusting = ssl.create_default_context(cafile=os.path.join(run.root, "server.pem"))
        try:
            https_get(netloc, untrusting, "/healthz")
            raise AssertionError("a client without the test CA accepted the certificate")
        except ssl.SSLCertVerificationError:
            pass

        # Plain HTTP on the HTTPS port: no HTTP answer at all, let alone the API.
        answer = plain_http_answer(netloc, "/api/v1/status")
        assert not answer.startswith(b"HTTP/"), answer[:200]
        assert b'"sources"' not in answer, answer[:200]
        # ... and the server is still fine afterwards.
        assert https_get(netloc, context, "/healthz")[0] == 200
        assert TOKEN not in run.stderr_text()
        assert run.stop() == 0
    finally:
        run.stop()
        run.dir.cleanup()


def test_key_that_does_not_match():
    run = DashboardRun(RUNNEL, dashboard=DASHBOARD.format(key="client.key"),
                       extra_files={"token.txt": TOKEN + "\n"})
    try:
        make_test_pki(run.root)
        r = run_runnel(RUNNEL, "run", run.pipeline, "--state-dir",
                       os.path.join(run.root, "state"), cwd=run.root, timeout=20)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "runnel: error: dashboard: cannot load key_file " + \
            os.path.join(run.root, "client.key") + ": " in r.stderr, r.stderr
        assert "key values mismatch (it must hold the private key of cert_file " + \
            os.path.join(run.root, "server.pem") + " in PEM, unencrypted)" in r.stderr, r.stderr
    finally:
        run.dir.cleanup()


if __name__ == "__main__":
    test_https()
    test_key_that_does_not_match()
    print("dashboard HTTPS: all checks passed")
