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
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mosquitto_broker import MosquittoBroker  # noqa: E402
from mqtt_clients import Publisher  # noqa: E402
from pipeline_files import runtime_section, window_view, write_csv, write_file  # noqa: E402
from runnel_outputs import (exported_input_log, row_differences, table_rows,  # noqa: E402
                            wait_for_rows)
from runnel_process import RunnelProcess, run_runnel  # noqa: E402

RUNNEL = sys.argv[1]
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
KILLS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else 11

MQTT_SOURCE = """
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
"""


def pipeline(state, broker):
    return (runtime_section(state, checkpoint_interval="400ms") +
            MQTT_SOURCE.format(broker=broker) + window_view("unique") +
            '\n[[sink]]\nfrom = "w"\ntable = "w"\n')


FIELDS = ["device", "seq", "ts", "v"]


def make_records(rng, count):
    """(device, seq, ts, v), in publish order; disorder stays within max_delay (never late)."""
    records, t = [], 1_700_000_000_000
    for seq in range(count):
        t += rng.randint(0, 300)
        records.append((f"d{rng.randint(0, 4)}", seq, t - rng.randint(0, 4_000),
                        rng.randint(-50, 50)))
    return records


def publish(publisher, record):
    device, seq, ts, v = record
    publisher.publish([(f"crash/{device}/r", f'{{"seq":{seq},"ts":{ts},"v":{v}}}')], wait=False)


def main():
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="runnel-mqtt-crash-")
    records = make_records(rng, MESSAGES)
    # A last record far ahead closes every window of the data (and opens one of its own).
    flush_time = max(r[2] for r in records) + 3_600_000
    sentinel = ("d0", MESSAGES, flush_time, 0)
    state = os.path.join(work, "state")
    with MosquittoBroker(os.path.join(work, "broker")) as broker:
        live = write_file(os.path.join(work, "live.toml"), pipeline(state, broker.uri))
        run = RunnelProcess(RUNNEL, ["run", live, "--no-dashboard"],
                            os.path.join(work, "runnel.log")).start()
        # Before the first subscription the broker keeps nothing for runnel.
        run.wait_for_log("subscribed to crash/+/r at QoS 1")
        publisher = Publisher(broker.port, max_inflight=100)
        chunk = 50
        kill_at = sorted(rng.sample(range(2, MESSAGES // chunk - 1), KILLS))
        kills = 0
        for index in range(0, MESSAGES, chunk):
            for record in records[index:index + chunk]:
                publish(publisher, record)
            time.sleep(rng.uniform(0.03, 0.12))
            if kills < KILLS and index // chunk == kill_at[kills]:
                time.sleep(rng.uniform(0.0, 0.15))
                run.kill9()
                kills += 1
                # Sometimes publish a little while runnel is down (the session queues it).
                time.sleep(rng.choice([0.0, 0.0, 0.2]))
                run.start()
        publish(publisher, sentinel)
        publisher.close()

        static_dir = os.path.join(work, "static")
        published_csv = write_csv(os.path.join(static_dir, "published.csv"), FIELDS, records)
        static = write_file(os.path.join(static_dir, "static.toml"),
                            pipeline(os.path.join(static_dir, "state"), broker.uri))
        run_runnel(RUNNEL, "run", static, "--replay", f"env={published_csv}", timeout=60,
                   check=True)
        expected = table_rows(os.path.join(static_dir, "state", "runnel.db"), "w")
        assert len(expected) > 50, expected

        live_db = os.path.join(state, "runnel.db")
        wait_for_rows(run, live_db, "w", len(expected))
        log = run.stop().log

    actual = table_rows(live_db, "w")
    if actual != expected:
        sys.exit(f"table differs from the static run after {kills} kills (log: {run.log_path}):\n"
                 + row_differences(expected, actual))

    header, exported = exported_input_log(RUNNEL, state)
    assert header == FIELDS, header
    logged = collections.Counter((d, int(s), int(t), int(v)) for d, s, t, v in exported)
    published = collections.Counter(records + [sentinel])
    missing = published - logged
    if missing:
        sys.exit(f"{sum(missing.values())} acknowledged messages are not in the input log, "
                 f"e.g. {list(missing)[:5]} (log: {run.log_path})")
    foreign = set(logged) - set(published)
    if foreign:
        sys.exit(f"the input log holds records never published: {list(foreign)[:5]}")
    redelivered = sum((logged - published).values())
    # Only messages in flight at a kill come twice: at most the publisher's in-flight window
    # per kill, far fewer in practice.
    if redelivered > 100 * kills:
        sys.exit(f"{redelivered} messages logged twice after {kills} kills")
    restored = log.count(" re-ran ")
    print(f"ok: {kills} kills, {len(expected)} window rows, {sum(published.values())} messages "
          f"logged, {redelivered} redelivered by the broker after a kill, "
          f"{restored} restarts re-ran logged steps")


if __name__ == "__main__":
    main()
