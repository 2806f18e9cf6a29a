#!/usr/bin/env python3
"""Restart after kill -9 with a live MQTT source (SPEC §6), through the real binary and a real
mosquitto (tests/support/mosquitto_broker.py).

A publisher sends N QoS 1 readings (device from the topic, seq/ts/v in a JSON payload) while
the test kills runnel with SIGKILL at random moments and restarts it with the same state
directory. The pipeline de-duplicates by (device, seq), then counts tumbling windows into a
table sink. At the end:
  - the table equals the static run over all N records (`--replay env=published.csv`);
  - the input log (`runnel export`) holds every published message, and no message twice
    unless the broker delivered it twice (QoS 1 is at least once: a message journaled just
    before a kill, whose PUBACK never reached the broker, is redelivered; docs/mqtt.md). Those
    redeliveries are counted and bounded; the dedup view removes them from the results.

usage: mqtt_crash_test.py RUNNEL [MESSAGES] [KILLS] [SEED]
"""
import collections
import csv
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mosquitto_broker import MosquittoBroker  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402

RUNNEL = sys.argv[1]
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
KILLS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else 11

PIPELINE = """
[runtime]
state_dir = "{state}"
checkpoint_interval = "400ms"

[mqtt]
broker = "{broker}"
client_id = "runnel-crash"

[[source]]
name = "env"
topic = "crash/{{device}}/r"
format = "json"
time = "ts"
max_delay = "5s"
fields = {{ device = "string", seq = "int", ts = "int", v = "int" }}

[[view]]
name = "unique"
from = "env"
dedup = {{ by = ["device", "seq"], within = "1d" }}

[[view]]
name = "w"
from = "unique"
window = {{ type = "tumbling", size = "10s" }}
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)", "lo = min(v)", "hi = max(v)"]

[[sink]]
from = "w"
table = "w"
"""

FIELDS = ["device", "seq", "ts", "v"]


def make_records(rng, count):
    """(device, seq, ts, v), in publish order; disorder stays within max_delay (never late)."""
    records, t = [], 1_700_000_000_000
    for seq in range(count):
        t += rng.randint(0, 300)
        records.append((f"d{rng.randint(0, 4)}", seq, t - rng.randint(0, 4_000),
                        rng.randint(-50, 50)))
    return records


def table_rows(db_path):
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2)
    try:
        return sorted(con.execute("SELECT * FROM w").fetchall())
    finally:
        con.close()


class Publisher:
    def __init__(self, port):
        self.client = mqtt.Client(client_id=f"crash-publisher-{os.getpid()}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(100)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.pending = []

    def publish(self, record):
        device, seq, ts, v = record
        payload = f'{{"seq":{seq},"ts":{ts},"v":{v}}}'
        self.pending.append(self.client.publish(f"crash/{device}/r", payload, qos=1))

    def flush(self):
        for info in self.pending:
            info.wait_for_publish(timeout=20)
            assert info.is_published(), "the broker did not acknowledge a test message"
        self.pending = []

    def close(self):
        self.flush()
        self.client.loop_stop()
        self.client.disconnect()


def wait_for_log(path, needle, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            if needle in f.read():
                return
        time.sleep(0.05)
    sys.exit(f"no {needle!r} in {path} within {timeout} s")


def main():
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="runnel-mqtt-crash-")
    records = make_records(rng, MESSAGES)
    # A last record far ahead closes every window of the data (and opens one of its own).
    flush_time = max(r[2] for r in records) + 3_600_000
    sentinel = ("d0", MESSAGES, flush_time, 0)
    state = os.path.join(work, "state")
    with MosquittoBroker(os.path.join(work, "broker")) as broker:
        live = os.path.join(work, "live.toml")
        with open(live, "w") as f:
            f.write(PIPELINE.format(state=state, broker=broker.uri))
        log_path = os.path.join(work, "runnel.log")
        log = open(log_path, "w")

        def start():
            return subprocess.Popen([RUNNEL, "run", live, "--no-dashboard"], stdout=log,
                                    stderr=log)

        proc = start()
        # Before the first subscription the broker keeps nothing for runnel.
        wait_for_log(log_path, "subscribed to crash/+/r at QoS 1")
        publisher = Publisher(broker.port)
        chunk = 50
        kill_at = sorted(rng.sample(range(2, MESSAGES // chunk - 1), KILLS))
        kills = 0
        for index in range(0, MESSAGES, chunk):
            for record in records[index:index + chunk]:
                publisher.publish(record)
            time.sleep(rng.uniform(0.03, 0.12))
            if kills < KILLS and index // chunk == kill_at[kills]:
                time.sleep(rng.uniform(0.0, 0.15))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                # Sometimes publish a little while runnel is down (the session queues it).
                time.sleep(rng.choice([0.0, 0.0, 0.2]))
                proc = start()
        publisher.publish(sentinel)
        publisher.close()

        static_dir = os.path.join(work, "static")
        os.makedirs(static_dir)
        published_csv = os.path.join(static_dir, "published.csv")
        with open(published_csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(FIELDS)
            writer.writerows(records)
        static = os.path.join(static_dir, "static.toml")
        with open(static, "w") as f:
            f.write(PIPELINE.format(state=os.path.join(static_dir, "state"), broker=broker.uri))
        subprocess.run([RUNNEL, "run", static, "--replay", f"env={published_csv}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        expected = table_rows(os.path.join(static_dir, "state", "runnel.db"))
        assert len(expected) > 50, expected

        live_db = os.path.join(state, "runnel.db")
        deadline = time.monotonic() + 30
        actual = []
        while time.monotonic() < deadline:
            try:
                actual = table_rows(live_db)
            except sqlite3.Error:
                actual = []
            if len(actual) >= len(expected):
                break
            if proc.poll() is not None:
                sys.exit(f"runnel exited with {proc.returncode} (log: {log_path})")
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=30) != 0:
            sys.exit(f"runnel exited with {proc.returncode} after SIGTERM (log: {log_path})")
        log.close()

    actual = table_rows(live_db)
    if actual != expected:
        missing = [r for r in expected if r not in actual]
        extra = [r for r in actual if r not in expected]
        sys.exit(f"table differs from the static run after {kills} kills (log: {log_path}):\n"
                 f"  missing {missing[:5]} ({len(missing)})\n  extra {extra[:5]} ({len(extra)})")

    exported = subprocess.run([RUNNEL, "export", "--state-dir", state, "--source", "env"],
                              check=True, capture_output=True, text=True).stdout
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0] == FIELDS, rows[0]
    logged = collections.Counter((d, int(s), int(t), int(v)) for d, s, t, v in rows[1:])
    published = collections.Counter(records + [sentinel])
    missing = published - logged
    if missing:
        sys.exit(f"{sum(missing.values())} acknowledged messages are not in the input log, "
                 f"e.g. {list(missing)[:5]} (log: {log_path})")
    foreign = set(logged) - set(published)
    if foreign:
        sys.exit(f"the input log holds records never published: {list(foreign)[:5]}")
    redelivered = sum((logged - published).values())
    # Only messages in flight at a kill come twice: at most the publisher's in-flight window
    # per kill, far fewer in practice.
    if redelivered > 100 * kills:
        sys.exit(f"{redelivered} messages logged twice after {kills} kills")
    with open(log_path) as f:
        restored = f.read().count(" re-ran ")
    print(f"ok: {kills} kills, {len(expected)} window rows, {sum(published.values())} messages "
          f"logged, {redelivered} redelivered by the broker after a kill, "
          f"{restored} restarts re-ran logged steps")


if __name__ == "__main__":
    main()
