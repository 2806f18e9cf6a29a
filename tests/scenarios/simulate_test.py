#!/usr/bin/env python3
"""`runnel simulate`: deterministic messages, and what a real broker receives.

1. A dry run writes exactly duration x rate messages; the same seed writes the same bytes, and
   the summary's counts by kind match the kinds written (pinned for this seed).
2. A paced run publishes to a real mosquitto; a paho-mqtt subscriber receives exactly the
   messages the dry run with the same --start and --seed writes, in order.
3. Bad usage exits 2 with a message.

usage: simulate_test.py RUNNEL
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mosquitto_broker import MosquittoBroker  # noqa: E402
from mqtt_clients import Subscriber  # noqa: E402
from runnel_process import run_runnel  # noqa: E402

ARGS = ["--profile", "esp32-bme280", "--devices", "5", "--rate", "100", "--duration", "3s",
        "--disorder", "2s", "--late-fraction", "0.05", "--duplicate-fraction", "0.1",
        "--malformed-fraction", "0.05", "--start", "1700000000000"]
# Pinned counts for seed 7 (normal, late, duplicate, malformed): a change in the fleet model
# shows up here.
EXPECTED_SUMMARY = "300 messages (247 normal, 12 late, 32 duplicate, 9 malformed)"


def run(runnel, *args, cwd):
    return run_runnel(runnel, "simulate", *args, cwd=cwd, timeout=60)


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def dry_run(runnel, root, seed="7"):
    result = run(runnel, *ARGS, "--seed", seed, "--dry-run", cwd=root)
    if result.returncode != 0:
        fail(f"dry run exited {result.returncode}: {result.stderr}")
    return result


def check_dry_run(runnel, root):
    first = dry_run(runnel, root)
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    if len(lines) != 300:
        fail(f"expected 300 messages, got {len(lines)}")
    if dry_run(runnel, root).stdout != first.stdout:
        fail("the same seed wrote different messages")
    if dry_run(runnel, root, seed="8").stdout == first.stdout:
        fail("another seed wrote the same messages")
    kinds = {}
    for m in lines:
        kinds[m["kind"]] = kinds.get(m["kind"], 0) + 1
        if not m["topic"].startswith("sensors/sim-000") or not m["topic"].endswith("/env"):
            fail(f"unexpected topic {m['topic']}")
    summary = first.stderr.strip().splitlines()[-1]
    expected = (f"runnel: wrote 300 messages ({kinds.get('normal', 0)} normal, "
                f"{kinds.get('late', 0)} late, {kinds.get('duplicate', 0)} duplicate, "
                f"{kinds.get('malformed', 0)} malformed) to standard output")
    if summary != expected:
        fail(f"summary {summary!r}, expected {expected!r}")
    pinned = summary[len("runnel: wrote "):-len(" to standard output")]
    if pinned != EXPECTED_SUMMARY:
        fail(f"counts for seed 7 changed: {pinned!r}, pinned {EXPECTED_SUMMARY!r}")
    for m in lines:
        if m["kind"] == "malformed":
            try:
                json.loads(m["payload"])
                fail(f"a malformed payload is valid JSON: {m['payload']}")
            except ValueError:
                pass
    return [(m["topic"], m["payload"]) for m in lines]


def check_publish(runnel, root, tmp, expected):
    with MosquittoBroker(os.path.join(tmp, "broker")) as broker:
        sub = Subscriber(broker.port, "sensors/#")
        started = time.monotonic()
        result = run(runnel, *ARGS, "--seed", "7", "--broker", broker.uri, "--qos", "1", cwd=root)
        elapsed = time.monotonic() - started
        if result.returncode != 0:
            fail(f"simulate exited {result.returncode}: {result.stderr}")
        received = sub.wait_for(len(expected), timeout=10)
        sub.close()
        if received != expected:
            fail(f"the subscriber received {len(received)} messages that differ from the dry "
                 f"run's {len(expected)}")
        # 300 messages at 100/s: paced, not sent at once.
        if elapsed < 2.5:
            fail(f"300 messages at 100/s took only {elapsed:.2f} s")
        if f"published {EXPECTED_SUMMARY} to {broker.uri} at QoS 1" not in result.stderr:
            fail(f"unexpected summary: {result.stderr}")


def check_errors(runnel, root):
    cases = [
        (["--profile", "no-such-profile", "--dry-run", "--duration", "1s"], "no-such-profile"),
        (["--profile", "smart-plug", "--late-fraction", "0.1", "--dry-run", "--duration", "1s"],
         "stamps records with their arrival time"),
        (["--profile", "esp32-bme280", "--dry-run"], "need --duration"),
        (["--profile", "esp32-bme280", "--duration", "1x", "--dry-run"], "--duration"),
    ]
    for args, needle in cases:
        result = run(runnel, *args, cwd=root)
        if result.returncode != 2 or needle not in result.stderr:
            fail(f"{args}: exit {result.returncode}, stderr {result.stderr!r}")
    # Nothing listens on port 1: publishing fails with exit 1 and says why.
    result = run(runnel, "--profile", "esp32-bme280", "--duration", "1s", "--broker",
                 "tcp://127.0.0.1:1", cwd=root)
    if result.returncode != 1 or "no connection to tcp://127.0.0.1:1" not in result.stderr:
        fail(f"unreachable broker: exit {result.returncode}, stderr {result.stderr!r}")


def main():
    runnel, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    expected = check_dry_run(runnel, root)
    with tempfile.TemporaryDirectory() as tmp:
        check_publish(runnel, root, tmp, expected)
    check_errors(runnel, root)
    print("ok")


if __name__ == "__main__":
    main()
