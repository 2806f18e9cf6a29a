#!/usr/bin/env python3
"""MQTT ingestion end to end, through the real runnel binary and a real mosquitto.

Cases (one per ctest test, each well under a minute):
  live       a profiled JSON source and an inline source, published at QoS 1, give exactly
             the results of the static run of the same records (--replay); malformed payloads
             are counted in the run summary and kept in runnel_rejects; the status view lists
             the devices online.
  restart    messages published while runnel is stopped arrive after it restarts with the
             same state directory (persistent session + ingest journal).
  reconnect  after broker.restart(), runnel reconnects by itself and gets what was published
             meanwhile (nothing lost; QoS 1 may redeliver); the summary counts the reconnect.
  tls        the same over TLS with the fixture's test CA.

usage: mqtt_ingest_test.py RUNNEL CASE
"""
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mosquitto_broker import MosquittoBroker  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402

PROFILE = """
name = "th-node"
topic = "sensors/{device}/th"
format = "json"
time = { field = "ts", unit = "ms" }
period = "10s"
[fields]
temp = { path = "t", type = "float", min = -40, max = 85 }
hum = { path = "h", type = "float" }
"""

PIPELINE = """
[runtime]
state_dir = "state"

[mqtt]
broker = "{broker}"
client_id = "runnel-test"
{tls}

[[source]]
name = "env"
profile = "th-node"

[[source]]
name = "meter"
topic = "plant/{{line}}/meter"
format = "json"
fields = {{ line = "string", ts = "int", kw = "float" }}
time = "ts"

[[view]]
name = "env_1m"
from = "env"
window = {{ type = "tumbling", size = "1m" }}
group_by = ["device"]
aggregate = ["avg_temp = avg(temp)", "max_hum = max(hum)", "n = count()"]

[[view]]
name = "meter_1m"
from = "meter"
window = {{ type = "tumbling", size = "1m" }}
group_by = ["line"]
aggregate = ["kwh = sum(kw)", "n = count()"]

[[sink]]
from = "env"
file = "out/env.csv"

[[sink]]
from = "env"
table = "env_rows"

[[sink]]
from = "meter"
table = "meter_rows"

[[sink]]
from = "env_1m"
file = "out/env_1m.csv"

[[sink]]
from = "meter_1m"
file = "out/meter_1m.csv"

[[sink]]
from = "env_status"
table = "env_status"
"""

# A sentinel far in the future closes every window of the real data in the live run; the static
# runs leave it out, so both emit exactly the windows of the real data.
SENTINEL_TIME = 10_000_000


def env_messages(first, count):
    """(topic, payload, csv row) for `count` env readings from 3 devices, 7 s apart."""
    out = []
    for i in range(first, first + count):
        device = f"n{i % 3}"
        ts = 1_000 + i * 7_000
        temp = round(15 + (i * 37 % 100) / 10, 1)
        hum = round(40 + (i * 13 % 50) / 2, 1)
        payload = f'{{"ts":{ts},"t":{temp},"h":{hum}}}'
        out.append((f"sensors/{device}/th", payload, [device, ts, temp, hum]))
    return out


def meter_messages(first, count):
    out = []
    for i in range(first, first + count):
        line = f"l{i % 2}"
        ts = 500 + i * 11_000
        kw = round(1 + (i * 7 % 30) / 4, 2)
        out.append((f"plant/{line}/meter", f'{{"ts":{ts},"kw":{kw}}}', [line, ts, kw]))
    return out


# Payloads that must be rejected, with the reason each must be counted under.
MALFORMED = [
    ("sensors/n0/th", "{not json", "invalid_json"),
    ("sensors/n1/th", '{"ts":5000,"t":120.0,"h":50}', "out_of_range:temp"),
    ("sensors/n2/th", '{"t":20.0,"h":50}', "missing_time"),
]


class Publisher:
    def __init__(self, broker):
        self.client = mqtt.Client(client_id=f"publisher-{os.getpid()}-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv311)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def publish(self, messages, qos=1):
        infos = [self.client.publish(topic, payload, qos=qos) for topic, payload, *_ in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published(), "the broker did not acknowledge a test message"

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class Runnel:
    """`runnel run` in the background, stderr in a file."""

    def __init__(self, runnel, workdir, name="run"):
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([runnel, "run", "pipeline.toml"], cwd=workdir,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        self.db = os.path.join(workdir, "state", "runnel.db")

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for_log(self, needle, count=1, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"runnel exited early:\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"no {needle!r} in runnel's log within {timeout} s:\n{self.text()}")

    def count(self, table):
        try:
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1)
            try:
                return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return -1

    def wait_for_rows(self, table, expected, timeout=20, distinct=False):
        if distinct:
            table = f"(SELECT DISTINCT * FROM {table})"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(table) == expected:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"runnel exited early:\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"{table} has {self.count(table)} rows, not {expected}, after "
                             f"{timeout} s:\n{self.text()}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=15)
        self.log.close()
        assert code == 0, f"runnel exited with {code}:\n{self.text()}"
        return self.text()


def setup(workdir, broker_uri, tls=""):
    os.makedirs(os.path.join(workdir, "firmware_configs"))
    os.makedirs(os.path.join(workdir, "out"))
    with open(os.path.join(workdir, "firmware_configs", "th-node.toml"), "w") as f:
        f.write(PROFILE)
    with open(os.path.join(workdir, "pipeline.toml"), "w") as f:
        f.write(PIPELINE.format(broker=broker_uri, tls=tls))


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def static_outputs(runnel, workdir, env_rows, meter_rows):
    """The outputs of the same pipeline over the records as static CSV files."""
    static = os.path.join(workdir, "static")
    os.makedirs(os.path.join(static, "out"))
    os.makedirs(os.path.join(static, "firmware_configs"))
    with open(os.path.join(static, "firmware_configs", "th-node.toml"), "w") as f:
        f.write(PROFILE)
    with open(os.path.join(workdir, "pipeline.toml")) as f:
        pipeline = f.read()
    with open(os.path.join(static, "pipeline.toml"), "w") as f:
        f.write(pipeline)
    for name, header, rows in (("env", ["device", "ts", "temp", "hum"], env_rows),
                               ("meter", ["line", "ts", "kw"], meter_rows)):
        with open(os.path.join(static, f"{name}.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    result = subprocess.run([runnel, "run", "pipeline.toml", "--replay", "env=env.csv",
                             "--replay", "meter=meter.csv"], cwd=static, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {name: read_lines(os.path.join(static, "out", f"{name}.csv"))
            for name in ("env", "env_1m", "meter_1m")}


def check_same_as_static(runnel, workdir, env, meter):
    """Live outputs (sentinels excluded) equal the static run of the records."""
    expected = static_outputs(runnel, workdir, [m[2] for m in env], [m[2] for m in meter])
    for name, lines in expected.items():
        live = read_lines(os.path.join(workdir, "out", f"{name}.csv"))
        if name == "env":
            live = [line for line in live if f",{SENTINEL_TIME}," not in line]
        # Windows that close in the same step may come out in any order.
        assert live[0] == lines[0], (name, live[0], lines[0])
        assert sorted(live[1:]) == sorted(lines[1:]), (name, live, lines)
        assert len(lines) > 3, (name, lines)


def sentinels():
    return ([("sensors/zz/th", f'{{"ts":{SENTINEL_TIME},"t":1,"h":1}}', None)],
            [("plant/zz/meter", f'{{"ts":{SENTINEL_TIME},"kw":0}}', None)])


def case_live(runnel, workdir, tls=False):
    with MosquittoBroker(os.path.join(workdir, "broker"), tls=tls) as broker:
        tls_config = f'tls = {{ ca_file = "{broker.ca_file}" }}' if tls else ""
        setup(workdir, broker.tls_uri if tls else broker.uri, tls_config)
        run = Runnel(runnel, workdir)
        run.wait_for_log("source 'env': subscribed to sensors/+/th at QoS 1")
        run.wait_for_log("source 'meter': subscribed to plant/+/meter at QoS 1")
        env, meter = env_messages(0, 60), meter_messages(0, 40)
        env_end, meter_end = sentinels()
        publisher = Publisher(broker)
        publisher.publish(env[:30] + [(t, p) for t, p, _ in MALFORMED] + meter + env[30:])
        publisher.publish(env_end + meter_end)
        publisher.close()
        run.wait_for_rows("env_rows", len(env) + 1)
        run.wait_for_rows("meter_rows", len(meter) + 1)
        run.wait_for_rows("env_status", 4)
        summary = run.stop()

    check_same_as_static(runnel, workdir, env, meter)
    assert "102 records read, 3 rejected" in summary, summary
    assert ("source 'env': 3 rejected (invalid_json 1, missing_time 1, out_of_range:temp 1)"
            in summary), summary
    con = sqlite3.connect(os.path.join(workdir, "state", "runnel.db"))
    rejects = con.execute("SELECT source, topic, reason, CAST(payload AS TEXT) FROM "
                          "runnel_rejects ORDER BY id").fetchall()
    assert rejects == [("env", t, reason, p) for t, p, reason in MALFORMED], rejects
    status = sorted(con.execute("SELECT device, online FROM env_status").fetchall())
    assert status == [("n0", 1), ("n1", 1), ("n2", 1), ("zz", 1)], status
    con.close()


def case_restart(runnel, workdir):
    with MosquittoBroker(os.path.join(workdir, "broker")) as broker:
        setup(workdir, broker.uri)
        env, meter = env_messages(0, 45), meter_messages(0, 30)
        first = Runnel(runnel, workdir, "first")
        first.wait_for_log("source 'meter': subscribed to")
        publisher = Publisher(broker)
        publisher.publish(env[:20] + meter[:10])
        first.wait_for_rows("env_rows", 20)
        first.wait_for_rows("meter_rows", 10)
        first.stop()
        # Runnel is down: the broker keeps these for its persistent sessions.
        publisher.publish(env[20:] + meter[10:])
        env_end, meter_end = sentinels()
        publisher.publish(env_end + meter_end)
        second = Runnel(runnel, workdir, "second")
        second.wait_for_rows("env_rows", len(env) + 1)
        second.wait_for_rows("meter_rows", len(meter) + 1)
        publisher.close()
        summary = second.stop()
    # The restart restores the first run's checkpoint and reads only what arrived since (the
    # 45 + 30 messages and 2 end markers, less the 30 the first run read): each exactly once.
    assert "restored the checkpoint" in summary, summary
    assert "47 records read, 0 rejected" in summary, summary
    check_same_as_static(runnel, workdir, env, meter)


def case_reconnect(runnel, workdir):
    with MosquittoBroker(os.path.join(workdir, "broker")) as broker:
        setup(workdir, broker.uri)
        env, meter = env_messages(0, 40), meter_messages(0, 20)
        run = Runnel(runnel, workdir)
        run.wait_for_log("source 'meter': subscribed to")
        publisher = Publisher(broker)
        publisher.publish(env[:20] + meter[:10])
        publisher.close()
        run.wait_for_rows("env_rows", 20)
        broker.restart()
        run.wait_for_log("lost the connection to", count=2)
        # Published before runnel is back: queued by the broker for runnel's sessions.
        publisher = Publisher(broker)
        env_end, meter_end = sentinels()
        publisher.publish(env[20:] + meter[10:] + env_end + meter_end)
        publisher.close()
        run.wait_for_log("reconnected to", count=2, timeout=40)
        # QoS 1 is at least once: messages whose PUBACK was lost when the broker went down are
        # delivered again, so only the distinct rows are exact (a dedup view removes the rest).
        run.wait_for_rows("env_rows", len(env) + 1, distinct=True)
        run.wait_for_rows("meter_rows", len(meter) + 1, distinct=True)
        summary = run.stop()
    assert "source 'env': 1 reconnect" in summary, summary
    assert "source 'meter': 1 reconnect" in summary, summary
    expected = static_outputs(runnel, workdir, [m[2] for m in env], [m[2] for m in meter])
    live = read_lines(os.path.join(workdir, "out", "env.csv"))
    live = {line for line in live[1:] if f",{SENTINEL_TIME}," not in line}
    assert live == set(expected["env"][1:]), (live, expected["env"])


def main():
    runnel, case = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="runnel-mqtt-") as workdir:
        if case == "live":
            case_live(runnel, workdir)
        elif case == "tls":
            case_live(runnel, workdir, tls=True)
        elif case == "restart":
            case_restart(runnel, workdir)
        elif case == "reconnect":
            case_reconnect(runnel, workdir)
        else:
            raise SystemExit(f"unknown case {case}")
    print(f"mqtt ingest {case}: ok")


if __name__ == "__main__":
    main()
