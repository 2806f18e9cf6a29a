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
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mosquitto_broker import MosquittoBroker  # noqa: E402
from mqtt_clients import Publisher  # noqa: E402
from pipeline_files import TH_NODE_PROFILE, write_csv, write_file  # noqa: E402
from runnel_outputs import count_rows, query, read_lines  # noqa: E402
from runnel_process import RunnelProcess, run_runnel  # noqa: E402

PROFILE = TH_NODE_PROFILE.format(period="10s")

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


def start(runnel, workdir, name="run"):
    """`runnel run pipeline.toml` in `workdir`, its log in NAME.log."""
    return RunnelProcess(runnel, ["run", "pipeline.toml"], os.path.join(workdir, f"{name}.log"),
                         cwd=workdir).start()


def wait_for_rows(run, table, expected, distinct=False, timeout=20):
    """Waits until `table` of run's state holds exactly `expected` (distinct) rows."""
    db = os.path.join(run.cwd, "state", "runnel.db")
    run.wait_for(lambda: count_rows(db, table, distinct) == expected,
                 f"{expected} {'distinct ' if distinct else ''}rows in {table}", timeout)


def setup(workdir, broker_uri, tls=""):
    write_file(os.path.join(workdir, "firmware_configs", "th-node.toml"), PROFILE)
    write_file(os.path.join(workdir, "pipeline.toml"), PIPELINE.format(broker=broker_uri, tls=tls))
    os.makedirs(os.path.join(workdir, "out"))


def static_outputs(runnel, workdir, env_rows, meter_rows):
    """The outputs of the same pipeline over the records as static CSV files."""
    static = os.path.join(workdir, "static")
    os.makedirs(os.path.join(static, "out"))
    write_file(os.path.join(static, "firmware_configs", "th-node.toml"), PROFILE)
    with open(os.path.join(workdir, "pipeline.toml")) as f:
        write_file(os.path.join(static, "pipeline.toml"), f.read())
    write_csv(os.path.join(static, "env.csv"), ["device", "ts", "temp", "hum"], env_rows)
    write_csv(os.path.join(static, "meter.csv"), ["line", "ts", "kw"], meter_rows)
    run_runnel(runnel, "run", "pipeline.toml", "--replay", "env=env.csv", "--replay",
               "meter=meter.csv", cwd=static, timeout=60, check=True)
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
        run = start(runnel, workdir)
        run.wait_for_log("source 'env': subscribed to sensors/+/th at QoS 1")
        run.wait_for_log("source 'meter': subscribed to plant/+/meter at QoS 1")
        env, meter = env_messages(0, 60), meter_messages(0, 40)
        env_end, meter_end = sentinels()
        publisher = Publisher(broker.port)
        publisher.publish(env[:30] + [(t, p) for t, p, _ in MALFORMED] + meter + env[30:])
        publisher.publish(env_end + meter_end)
        publisher.close()
        wait_for_rows(run, "env_rows", len(env) + 1)
        wait_for_rows(run, "meter_rows", len(meter) + 1)
        wait_for_rows(run, "env_status", 4)
        summary = run.stop(timeout=15).log

    check_same_as_static(runnel, workdir, env, meter)
    assert "102 records read, 3 rejected" in summary, summary
    assert ("source 'env': 3 rejected (invalid_json 1, missing_time 1, out_of_range:temp 1)"
            in summary), summary
    db = os.path.join(workdir, "state", "runnel.db")
    rejects = query(db, "SELECT source, topic, reason, CAST(payload AS TEXT) FROM "
                    "runnel_rejects ORDER BY id")
    assert rejects == [("env", t, reason, p) for t, p, reason in MALFORMED], rejects
    status = sorted(query(db, "SELECT device, online FROM env_status"))
    assert status == [("n0", 1), ("n1", 1), ("n2", 1), ("zz", 1)], status

def case_restart(runnel, workdir):
    with MosquittoBroker(os.path.join(workdir, "broker")) as broker:
        setup(workdir, broker.uri)
        env, meter = env_messages(0, 45), meter_messages(0, 30)
        first = start(runnel, workdir, "first")
        first.wait_for_log("source 'meter': subscribed to")
        publisher = Publisher(broker.port)
        publisher.publish(env[:20] + meter[:10])
        wait_for_rows(first, "env_rows", 20)
        wait_for_rows(first, "meter_rows", 10)
        first.stop(timeout=15)
        # Runnel is down: the broker keeps these for its persistent sessions.
        publisher.publish(env[20:] + meter[10:])
        env_end, meter_end = sentinels()
        publisher.publish(env_end + meter_end)
        second = start(runnel, workdir, "second")
        wait_for_rows(second, "env_rows", len(env) + 1)
        wait_for_rows(second, "meter_rows", len(meter) + 1)
        publisher.close()
        summary = second.stop(timeout=15).log
    # The restart restores the first run's checkpoint and reads only what arrived since (the
    # 45 + 30 messages and 2 end markers, less the 30 the first run read): each exactly once.
    assert "restored the checkpoint" in summary, summary
    assert "47 records read, 0 rejected" in summary, summary
    check_same_as_static(runnel, workdir, env, meter)
    # The status view continues its rows across the restart: one per device, none again as
    # new (it was each device once per run before its state was checkpointed).
    db = os.path.join(workdir, "state", "runnel.db")
    status = sorted(query(db, "SELECT device, online FROM env_status"))
    assert status == [("n0", 1), ("n1", 1), ("n2", 1), ("zz", 1)], status


def case_reconnect(runnel, workdir):
    with MosquittoBroker(os.path.join(workdir, "broker")) as broker:
        setup(workdir, broker.uri)
        env, meter = env_messages(0, 40), meter_messages(0, 20)
        run = start(runnel, workdir)
        run.wait_for_log("source 'meter': subscribed to")
        publisher = Publisher(broker.port)
        publisher.publish(env[:20] + meter[:10])
        publisher.close()
        wait_for_rows(run, "env_rows", 20)
        broker.restart()
        run.wait_for_log("lost the connection to", count=2)
        # Published before runnel is back: queued by the broker for runnel's sessions.
        publisher = Publisher(broker.port)
        env_end, meter_end = sentinels()
        publisher.publish(env[20:] + meter[10:] + env_end + meter_end)
        publisher.close()
        run.wait_for_log("reconnected to", count=2, timeout=40)
        # QoS 1 is at least once: messages whose PUBACK was lost when the broker went down are
        # delivered again, so only the distinct rows are exact (a dedup view removes the rest).
        wait_for_rows(run, "env_rows", len(env) + 1, distinct=True)
        wait_for_rows(run, "meter_rows", len(meter) + 1, distinct=True)
        summary = run.stop(timeout=15).log
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
