#!/usr/bin/env python3
"""MQTT sinks through the real binary and a real mosquitto (SPEC §4).

1. A static pipeline's MQTT sink publishes exactly the changelog its JSONL file sink writes,
   in the same order, and leaves the outbox empty. `runnel check` names an unknown topic
   column at file:line and never connects.
2. Uplink down: a follow pipeline stores its messages in runnel_outbox; when the broker comes
   up they arrive in order and leave the outbox.
3. kill -9 with a non-empty outbox: the restarted run delivers what the outbox held, in order.
4. outbox_limit: a full outbox keeps the newest messages, and the run says how many it dropped.
5. An uplink over TLS (ssl://, a test CA generated now) with its own broker settings.
6. The broker restarts under a running pipeline: the sink reconnects and later results arrive.
7. One step publishes more messages than Paho buffers by default (100): all arrive, in order.

usage: mqtt_sink_test.py RUNNEL
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mosquitto_broker import MosquittoBroker, free_port  # noqa: E402
from mqtt_clients import Subscriber  # noqa: E402
from pipeline_files import write_file  # noqa: E402
from runnel_outputs import try_query  # noqa: E402
from runnel_process import RunnelProcess, run_runnel  # noqa: E402
from waiting import WaitTimeout, wait_for  # noqa: E402

READINGS = """device,ts,temp
a,1000,20.5
b,2000,30.0
a,61000,21.5
b/x,62000,27.25
a,65000,
"""

STATIC = """
[mqtt]
broker = "{broker}"

[[source]]
name = "env"
file = "env.csv"
time = "ts"
fields = {{ device = "string", ts = "int", temp = "float" }}

[[view]]
name = "env_1m"
from = "env"
window = {{ type = "tumbling", size = "1m" }}
group_by = ["device"]
aggregate = ["n = count()", "avg_temp = avg(temp)"]

[[sink]]
from = "env_1m"
file = "out/env_1m.jsonl"

[[sink]]
from = "env_1m"
topic = "out/env_1m/{{device}}"
qos = 1
"""

FOLLOW = """
[[source]]
name = "env"
file = "logs"
format = "csv"
mode = "follow"
time = "ts"
fields = {{ device = "string", ts = "int", temp = "float" }}

[[view]]
name = "hot"
from = "env"
where = "temp > 25"
select = ["device", "ts", "temp"]

[[sink]]
from = "hot"
topic = "uplink/hot/{{device}}"
broker = "{broker}"
qos = 1
outbox_limit = {limit}
"""


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def outbox(state_dir):
    rows = try_query(os.path.join(state_dir, "runnel.db"),
                     "SELECT topic, payload FROM runnel_outbox ORDER BY id") or []
    return [(t, bytes(p).decode() if isinstance(p, bytes) else p) for t, p in rows]


def wait_outbox(state_dir, count, timeout=20):
    def enough():
        rows = outbox(state_dir)
        return rows if len(rows) >= count else None
    try:
        return wait_for(enough, f"{count} messages in the outbox", timeout, interval=0.1)
    except WaitTimeout:
        fail(f"the outbox holds {len(outbox(state_dir))} messages, expected {count}")


def check_static_changelog(runnel, tmp):
    work = os.path.join(tmp, "static")
    write_file(os.path.join(work, "env.csv"), READINGS)
    with MosquittoBroker(os.path.join(tmp, "broker-static")) as broker:
        write_file(os.path.join(work, "p.toml"), STATIC.format(broker=broker.uri))
        sub = Subscriber(broker.port, "out/#")
        result = run_runnel(runnel, "run", "p.toml", "--state-dir", "state", cwd=work, timeout=60)
        if result.returncode != 0:
            fail(f"static run exited {result.returncode}: {result.stderr}")
        with open(os.path.join(work, "out", "env_1m.jsonl")) as f:
            changelog = f.read().splitlines()
        received = sub.wait_for(len(changelog))
        sub.close()
    if [payload for _, payload in received] != changelog:
        fail(f"MQTT payloads {received} differ from the file changelog {changelog}")
    topics = ["out/env_1m/" + json.loads(line)["device"].replace("/", "%2F") for line in changelog]
    if [topic for topic, _ in received] != topics:
        fail(f"topics {[t for t, _ in received]}, expected {topics}")
    if outbox(os.path.join(work, "state")):
        fail("delivered messages are still in the outbox")

    # check: offline (the broker is gone now), and an unknown topic column is a load error.
    result = run_runnel(runnel, "check", "p.toml", cwd=work, timeout=30)
    if result.returncode != 0 or "sink mqtt out/env_1m/{device} qos 1 on" not in result.stdout:
        fail(f"check: exit {result.returncode}: {result.stdout} {result.stderr}")
    write_file(os.path.join(work, "bad.toml"),
               STATIC.format(broker="tcp://127.0.0.1:1").replace("{device}", "{devce}"))
    result = run_runnel(runnel, "check", "bad.toml", cwd=work, timeout=30)
    line = STATIC.format(broker="x").splitlines().index("topic = \"out/env_1m/{device}\"") - 1
    expected = (f"bad.toml:{line}: sink from 'env_1m': topic \"out/env_1m/{{devce}}\": field "
                f"'devce' is not a column of the published rows (columns: window_start, "
                f"window_end, device, n, avg_temp)")
    if result.returncode != 2 or expected not in result.stderr:
        fail(f"check bad.toml: exit {result.returncode}: {result.stderr!r}, expected {expected!r}")


MANY = """
[mqtt]
broker = "{broker}"
client_id = "runnel-many"

[[source]]
name = "env"
file = "many.csv"
time = "ts"
fields = {{ device = "string", ts = "int", temp = "float" }}

[[sink]]
from = "env"
topic = "many/{{device}}"
"""


def check_large_step(runnel, tmp):
    work = os.path.join(tmp, "many")
    count = 700
    write_file(os.path.join(work, "many.csv"),
          "device,ts,temp\n" + "".join(f"d{i % 7},{1000 + i},{i}\n" for i in range(count)))
    with MosquittoBroker(os.path.join(tmp, "broker-many")) as broker:
        write_file(os.path.join(work, "p.toml"), MANY.format(broker=broker.uri))
        sub = Subscriber(broker.port, "many/#")
        result = run_runnel(runnel, "run", "p.toml", "--state-dir", "state", cwd=work, timeout=60)
        if result.returncode != 0:
            fail(f"many: exit {result.returncode}: {result.stderr}")
        received = sub.wait_for(count)
        sub.close()
    temps = [json.loads(payload)["temp"] for _, payload in received]
    if temps != list(range(count)):
        fail(f"many: {len(received)} of {count} messages arrived, or out of order: {temps[:5]}...")
    if outbox(os.path.join(work, "state")):
        fail("many: delivered messages are still in the outbox")


HOT = [("uplink/hot/b", '{"device":"b","ts":2000,"temp":30,"diff":1}'),
       ("uplink/hot/b%2Fx", '{"device":"b/x","ts":62000,"temp":27.25,"diff":1}')]


def start_follow(runnel, work):
    return RunnelProcess(runnel, ["run", "p.toml", "--state-dir", "state"],
                         os.path.join(work, "runnel.log"), cwd=work).start()


def stop(process):
    try:
        return process.stop().log
    except AssertionError as e:
        fail(str(e))


def check_outage(runnel, tmp):
    work = os.path.join(tmp, "outage")
    state = os.path.join(work, "state")
    port = free_port()
    write_file(os.path.join(work, "p.toml"),
               FOLLOW.format(broker=f"tcp://127.0.0.1:{port}", limit=1000))
    write_file(os.path.join(work, "logs", "env.csv"), READINGS)
    with start_follow(runnel, work) as runnel_process:
        if wait_outbox(state, 2) != HOT:
            fail(f"outbox {outbox(state)}, expected {HOT}")
        with MosquittoBroker(os.path.join(tmp, "broker-outage"), port=port):
            sub = Subscriber(port, "uplink/#")
            received = sub.wait_for(len(HOT))
            sub.close()
            if received != HOT:
                fail(f"after the outage the uplink received {received}, expected {HOT}")
            try:
                wait_for(lambda: not outbox(state), "an empty outbox", 10, interval=0.1)
            except WaitTimeout:
                fail("delivered messages are still in the outbox")
            stop(runnel_process)


def check_kill9(runnel, tmp):
    work = os.path.join(tmp, "kill9")
    state = os.path.join(work, "state")
    port = free_port()
    write_file(os.path.join(work, "p.toml"),
               FOLLOW.format(broker=f"tcp://127.0.0.1:{port}", limit=1000))
    write_file(os.path.join(work, "logs", "env.csv"), READINGS)
    with start_follow(runnel, work) as process:
        wait_outbox(state, 2)
        process.kill9()
    if outbox(state) != HOT:
        fail(f"after kill -9 the outbox holds {outbox(state)}")
    # The restarted run finds no new input: what it publishes comes from the outbox.
    write_file(os.path.join(work, "logs", "env.csv"), "device,ts,temp\n")
    with MosquittoBroker(os.path.join(tmp, "broker-kill9"), port=port):
        sub = Subscriber(port, "uplink/#")
        with start_follow(runnel, work) as process:
            received = sub.wait_for(len(HOT))
            stderr = stop(process) if process.running() else ""
        sub.close()
    if received != HOT:
        fail(f"after kill -9 and a restart the uplink received {received}, expected {HOT}")
    if "2 messages of an earlier run wait in the outbox; they go out first" not in stderr:
        fail(f"the restart did not say it found the outbox: {stderr}")
    if outbox(state):
        fail("delivered messages are still in the outbox after the restart")


def check_overflow(runnel, tmp):
    work = os.path.join(tmp, "overflow")
    lines = "device,ts,temp\n" + "".join(f"d{i},{i * 1000},{30 + i}\n" for i in range(10))
    write_file(os.path.join(work, "logs", "env.csv"), lines)
    write_file(os.path.join(work, "p.toml"),
               FOLLOW.format(broker="tcp://127.0.0.1:1", limit=3).replace('"follow"', '"static"'))
    result = run_runnel(runnel, "run", "p.toml", "--state-dir", "state", cwd=work, timeout=60)
    if result.returncode != 0:
        fail(f"overflow run exited {result.returncode}: {result.stderr}")
    expected = [(f"uplink/hot/d{i}", f'{{"device":"d{i}","ts":{i * 1000},"temp":{30 + i},'
                 f'"diff":1}}') for i in (7, 8, 9)]
    if outbox(os.path.join(work, "state")) != expected:
        fail(f"outbox {outbox(os.path.join(work, 'state'))}, expected {expected}")
    for needle in ["the outbox is full (outbox_limit = 3)",
                   "7 messages dropped because the outbox was full",
                   "3 messages wait in the outbox"]:
        if needle not in result.stderr:
            fail(f"{needle!r} not in {result.stderr!r}")


def check_tls_uplink(runnel, tmp):
    work = os.path.join(tmp, "tls")
    write_file(os.path.join(work, "logs", "env.csv"), READINGS)
    with MosquittoBroker(os.path.join(tmp, "broker-tls"), tls=True) as broker:
        pipeline = FOLLOW.format(broker=broker.tls_uri, limit=1000).replace('"follow"', '"static"')
        pipeline += f'tls = {{ ca_file = "{broker.ca_file}" }}\n'
        write_file(os.path.join(work, "p.toml"), pipeline)
        sub = Subscriber(broker.port, "uplink/#")
        result = run_runnel(runnel, "run", "p.toml", "--state-dir", "state", cwd=work, timeout=60)
        received = sub.wait_for(len(HOT))
        sub.close()
    if result.returncode != 0:
        fail(f"TLS uplink run exited {result.returncode}: {result.stderr}")
    if received != HOT:
        fail(f"over TLS the uplink received {received}, expected {HOT}")
    if outbox(os.path.join(work, "state")):
        fail("messages delivered over TLS are still in the outbox")


def check_broker_restart(runnel, tmp):
    work = os.path.join(tmp, "restart")
    write_file(os.path.join(work, "logs", "env.csv"), READINGS)
    with MosquittoBroker(os.path.join(tmp, "broker-restart")) as broker:
        write_file(os.path.join(work, "p.toml"), FOLLOW.format(broker=broker.uri, limit=1000))
        sub = Subscriber(broker.port, "uplink/#")
        with start_follow(runnel, work) as process:
            received = sub.wait_for(len(HOT))
            sub.close()
            if received != HOT:
                fail(f"before the broker restart the uplink received {received}")
            broker.restart()
            sub = Subscriber(broker.port, "uplink/#")
            with open(os.path.join(work, "logs", "env.csv"), "a") as f:
                f.write("c,70000,40.5\nd,71000,10\ne,72000,26\n")
            later = [("uplink/hot/c", '{"device":"c","ts":70000,"temp":40.5,"diff":1}'),
                     ("uplink/hot/e", '{"device":"e","ts":72000,"temp":26,"diff":1}')]
            received = sub.wait_for(len(later))
            sub.close()
            if received != later:
                fail(f"after the broker restart the uplink received {received}, expected {later}")
            stderr = stop(process)
    if stderr.count(": connected to " + broker.uri) < 2 or "cannot reach" not in stderr:
        fail(f"the lost connection and the reconnection are not in the log: {stderr}")


def main():
    runnel = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        check_static_changelog(runnel, tmp)
        check_large_step(runnel, tmp)
        check_outage(runnel, tmp)
        check_kill9(runnel, tmp)
        check_overflow(runnel, tmp)
        check_tls_uplink(runnel, tmp)
        check_broker_restart(runnel, tmp)
    print("ok")


if __name__ == "__main__":
    main()
