#!/usr/bin/env python3
"""The dashboard's devices and rejects with MQTT ingestion, through the real binary.

runnel runs a profiled MQTT source (period 1 s, so its env_status view) against a real
mosquitto (tests/support/mosquitto_broker.py); paho-mqtt publishes readings from two devices
and malformed payloads (bad JSON, out of range, no time, not UTF-8, over 4 KiB). Checked
exactly: /api/v1/devices (online, last_seen on the gateway clock, latest values; a silent
device goes offline after 3 periods while the other stays online), /api/v1/rejects (topic,
reason, payload or payload_hex, truncation, newest first, source filter and paging) and the
/metrics lines for records and rejects.

usage: dashboard_mqtt_test.py RUNNEL
"""
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from dashboard_run import DashboardRun, get  # noqa: E402
from mosquitto_broker import MosquittoBroker  # noqa: E402
from mqtt_clients import Publisher  # noqa: E402
from pipeline_files import TH_NODE_PROFILE  # noqa: E402
from waiting import wait_for  # noqa: E402

RUNNEL = sys.argv[1]

PROFILE = TH_NODE_PROFILE.format(period="1s")

PIPELINE = """
[mqtt]
broker = "@BROKER@"
client_id = "runnel-web-test"

[dashboard]
{dashboard}

[[source]]
name = "env"
profile = "th-node"

[[sink]]
from = "env_status"
table = "env_status"
"""

T0 = 1_700_000_000_000
BIG = '{"t": "' + "x" * 5000 + '"}'
# (topic, payload bytes, reason), in publishing order.
MALFORMED = [
    ("sensors/n0/th", b"{not json", "invalid_json"),
    ("sensors/n1/th", b'{"ts":1700000005000,"t":120.0,"h":50}', "out_of_range:temp"),
    ("sensors/n1/th", b'{"t":20.0,"h":50}', "missing_time"),
    ("sensors/n0/th", b"\xff\xfe{", "invalid_json"),
    ("sensors/n0/th", BIG.encode(), "missing_time"),
]


def reading(device, i, temp, hum):
    return (f"sensors/{device}/th", f'{{"ts":{T0 + i * 1000},"t":{temp},"h":{hum}}}'.encode())


def now_ms():
    return int(time.time() * 1000)


def get_json(url):
    status, _, body = get(url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def devices(base):
    return {d["device"]: d for d in get_json(base + "api/v1/devices")["devices"]}


def check_devices_and_rejects():
    with tempfile.TemporaryDirectory(prefix="runnel-web-mqtt-") as tmp, \
            MosquittoBroker(tmp) as broker, \
            DashboardRun(RUNNEL, pipeline=PIPELINE.replace("@BROKER@", broker.uri),
                         extra_files={"firmware_configs/th-node.toml": PROFILE}) as run:
        base = run.url
        wait_for(lambda: "source 'env': subscribed to sensors/+/th" in run.stderr_text(),
                 what="the subscription")
        publisher = Publisher(broker.port)
        before = now_ms()
        publisher.publish([reading("n0", 0, 20.5, 40.0), reading("n1", 1, 18.0, 55.5),
                           *MALFORMED, reading("n0", 2, 21.25, 41.0)])
        wait_for(lambda: get_json(base + "api/v1/status")["sources"][0]["records"] == 3 and
                 len(devices(base)) == 2, what="3 records and 2 devices")
        after = now_ms()

        # Both devices online; last_seen is when they came online (the gateway clock); the
        # values are each device's latest record.
        found = devices(base)
        for name, d in found.items():
            assert before <= d["last_seen"] <= after, (before, d, after)
        assert found == {
            "n0": {"view": "env_status", "device": "n0", "last_seen": found["n0"]["last_seen"],
                   "online": True,
                   "values": {"device": "n0", "ts": T0 + 2000, "temp": 21.25, "hum": 41.0}},
            "n1": {"view": "env_status", "device": "n1", "last_seen": found["n1"]["last_seen"],
                   "online": True,
                   "values": {"device": "n1", "ts": T0 + 1000, "temp": 18.0, "hum": 55.5}},
        }, found
        n0_online_since = found["n0"]["last_seen"]

        # Rejects, newest first, exactly as published.
        doc = get_json(base + "api/v1/rejects")
        rejects = doc["rejects"]
        assert [(r["source"], r["topic"], r["reason"]) for r in rejects] == \
            [("env", t, reason) for t, _, reason in reversed(MALFORMED)], \
            [(r["topic"], r["reason"]) for r in rejects]
        ids = [r["id"] for r in rejects]
        assert ids == sorted(ids, reverse=True) and doc["next_before"] == ids[-1], doc
        for r in rejects:
            assert before <= r["arrival"] <= after, (before, r, after)
        big, not_utf8, no_time, out_of_range, bad_json = rejects
        assert {k: bad_json[k] for k in ("payload", "payload_bytes", "truncated")} == \
            {"payload": "{not json", "payload_bytes": 9, "truncated": False}, bad_json
        assert out_of_range["payload"] == '{"ts":1700000005000,"t":120.0,"h":50}', out_of_range
        assert no_time["payload"] == '{"t":20.0,"h":50}' and no_time["truncated"] is False
        assert not_utf8["payload"] is None and not_utf8["payload_hex"] == "fffe7b", not_utf8
        assert not_utf8["payload_bytes"] == 3, not_utf8
        assert big["payload_bytes"] == len(BIG) and big["truncated"] is True, \
            {k: v for k, v in big.items() if k != "payload"}
        assert big["payload"] == BIG[:4096], len(big["payload"])

        # Filtering and paging.
        page = get_json(base + "api/v1/rejects?source=env&limit=2")
        assert [r["id"] for r in page["rejects"]] == ids[:2] and page["next_before"] == ids[1]
        page = get_json(base + f"api/v1/rejects?source=env&before={ids[1]}&limit=10")
        assert [r["id"] for r in page["rejects"]] == ids[2:], page
        assert get_json(base + "api/v1/rejects?source=other") == {"rejects": []}

        # Prometheus: records and rejects of the source.
        wait_for(lambda: 'runnel_source_rejects_total{source="env"} 5' in
                 get(base + "metrics")[2].decode(), what="5 rejects in /metrics")
        lines = get(base + "metrics")[2].decode().splitlines()
        for line in ["# HELP runnel_source_rejects_total Malformed lines or payloads the source "
                     "counted and skipped.",
                     "# TYPE runnel_source_rejects_total counter",
                     'runnel_source_rejects_total{source="env"} 5',
                     'runnel_source_records_total{source="env"} 3']:
            assert line in lines, (line, lines)

        # n1 falls silent while n0 keeps reporting: after 3 periods n1 is offline, last seen
        # when its message arrived; n0 stays online since it first came.
        def n1_offline():
            publisher.publish([reading("n0", 10, 22.0, 42.0)])
            return not devices(base)["n1"]["online"]
        wait_for(n1_offline, timeout=15, what="n1 offline")
        found = devices(base)
        assert before <= found["n1"]["last_seen"] <= after, found["n1"]
        assert found == {
            "n0": {"view": "env_status", "device": "n0", "last_seen": n0_online_since,
                   "online": True,
                   "values": {"device": "n0", "ts": T0 + 10000, "temp": 22.0, "hum": 42.0}},
            "n1": {"view": "env_status", "device": "n1", "last_seen": found["n1"]["last_seen"],
                   "online": False,
                   "values": {"device": "n1", "ts": T0 + 1000, "temp": 18.0, "hum": 55.5}},
        }, found
        publisher.close()
        assert run.stop() == 0, run.stderr_text()


if __name__ == "__main__":
    check_devices_and_rejects()
    print("dashboard with MQTT: all checks passed")
