#!/usr/bin/env python3
"""MQTT ingest benchmark driver (docs/benchmarks.md, "MQTT ingest"); run by scripts/bench_mqtt.sh.

One mosquitto for the whole run (its settings are in BROKER_SETTINGS). For each of RUNS rounds
and each QoS, interleaved: the bare Paho subscriber's rate, then Runnel's sustained rate on
bench/mqtt_window.toml, both draining the same N messages of the esp32-bme280 profile that
bench/mqtt_publisher.cc publishes as fast as the broker takes them. Runnel's rate is N over
the time from the first message's arrival (input log `arrival`) to the commit of the step that
consumed the Nth (polled in runnel.db every 10 ms). Loss is checked: the input log and the run
summary must count exactly N records and no reject, else the script fails. Then, per QoS, a
latency run at 50 % of Runnel's median rate on bench/mqtt_latency.toml: the publisher stamps
each payload with its publish time and the driver polls runnel.db every 5 ms for new result
rows (table `latest`) and input-log records: publish -> result row committed. Writes RESULTS/summary.md and runs.tsv.

With a BASELINE_BIN (another runnel binary, e.g. before a change), every round also runs it
on the same pipeline right after Runnel, for a same-run before/after comparison.

usage: mqtt_ingest_bench.py ROOT BENCH_BIN_DIR RUNNEL_BIN RESULTS N RUNS [BASELINE_BIN]
"""
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
import input_log  # noqa: E402
from mosquitto_broker import MosquittoBroker  # noqa: E402
from runnel_process import RunnelProcess  # noqa: E402

BROKER_SETTINGS = [
    # Unlimited queue per session: a stock mosquitto keeps 1000 and then drops QoS 1/2
    # messages for a subscriber that falls behind (bounded by memory instead; see docs/mqtt.md).
    "max_queued_messages 0",
    # Unlimited QoS 1/2 messages in flight to a client (mosquitto's default is 20 per client).
    "max_inflight_messages 0",
    # The bench needs no broker restart: no persistence, so the broker writes nothing to disk.
    "persistence false",
    # Small messages: send them without Nagle's delay (affects latency, not the rate).
    "set_tcp_nodelay true",
]
DEVICES = 1000
SIM_RATE = 100  # each device every 10 s of event time, the profile's period
SIM_START_MS = 1_700_000_000_000
LATENCY_SECONDS = 10
POLL_S = 0.01
POLL_LATENCY_S = 0.005


def log(message):
    print(f"[bench_mqtt {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


STARTED = []  # every process started, ended by fail() so that none outlives the script


def start(command, **kwargs):
    process = subprocess.Popen(command, **kwargs)
    STARTED.append(process)
    return process


def fail(message):
    log(f"FAILED: {message}")
    for process in reversed(STARTED):
        if process.poll() is None:
            process.kill()
            process.wait()
    sys.exit(1)


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Bench:
    def __init__(self, root, bin_dir, runnel, results, count, baseline=None):
        self.root = root
        self.publisher = os.path.join(bin_dir, "runnel_bench_mqtt_publisher")
        self.subscriber = os.path.join(bin_dir, "runnel_bench_mqtt_raw_subscriber")
        self.runnel = runnel
        self.binaries = {"runnel": runnel, "baseline": baseline}
        self.results = results
        self.count = count
        # Its mosquitto.conf and mosquitto.log go to RESULTS; BROKER_SETTINGS come last, so
        # they are what holds.
        self.mosquitto = MosquittoBroker(results, persistence=False,
                                         extra_config="\n".join(BROKER_SETTINGS) + "\n")
        self.port = self.mosquitto.port
        self.broker = self.mosquitto.uri
        self.work = tempfile.mkdtemp(prefix="bench-mqtt-")
        self.messages = os.path.join(results, "messages.tsv")

    # --- setup -------------------------------------------------------------------------------
    def start_broker(self):
        self.mosquitto.start()

    def stop_broker(self):
        self.mosquitto.stop()

    def generate_messages(self):
        """`runnel simulate --output` of the esp32-bme280 fleet, as topic<TAB>payload lines."""
        seconds = self.count // SIM_RATE
        out = subprocess.run(
            [self.runnel, "simulate", "--profile", "esp32-bme280", "--devices", str(DEVICES),
             "--rate", str(SIM_RATE), "--duration", f"{seconds}s", "--start", str(SIM_START_MS),
             "--seed", "1", "--output", "-"],
            cwd=self.root, check=True, capture_output=True, text=True).stdout
        lines = []
        for line in out.splitlines():
            message = json.loads(line)
            lines.append(f"{message['topic']}\t{message['payload']}\n")
        if len(lines) != self.count:
            fail(f"runnel simulate wrote {len(lines)} messages, not {self.count}")
        with open(self.messages, "w") as f:
            f.writelines(lines)
        sizes = sorted(len(line.split("\t", 1)[1]) - 1 for line in lines)
        log(f"{len(lines)} messages of {sizes[0]}-{sizes[-1]} bytes -> {self.messages}")
        return sizes[len(sizes) // 2]

    # --- pieces ------------------------------------------------------------------------------
    def publish(self, qos, count, rate=None, stamp=False):
        command = [self.publisher, "--broker", self.broker, "--file", self.messages,
                   "--count", str(count), "--qos", str(qos)]
        if rate:
            command += ["--rate", str(rate)]
        if stamp:
            command += ["--stamp-time"]
        return start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    @staticmethod
    def finish_publisher(publisher):
        out, err = publisher.communicate(timeout=300)
        if publisher.returncode != 0:
            fail(f"publisher: {err.strip()}")
        return float(re.search(r"rate (\d+)", out).group(1))

    def start_subscriber(self, qos, count, topic="sensors/+/env"):
        command = [self.subscriber, "--broker", self.broker, "--topic", topic, "--qos", str(qos),
                   "--count", str(count), "--timeout-s", "300"]
        sub = start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if sub.stdout.readline().strip() != "ready":
            fail(f"raw subscriber did not subscribe: {sub.stderr.read().strip()}")
        return sub

    @staticmethod
    def finish_subscriber(sub):
        out, err = sub.communicate(timeout=330)
        if sub.returncode != 0:
            fail(f"raw subscriber: {err.strip()}")
        return dict(zip(out.split()[0::2], (float(v) for v in out.split()[1::2])))

    def pipeline(self, template, qos):
        """A copy of bench/TEMPLATE with this run's broker and QoS (relative paths unchanged)."""
        with open(os.path.join(self.root, "bench", template)) as f:
            text = f.read()
        text = text.replace('"tcp://127.0.0.1:1883"', f'"{self.broker}"')
        text = re.sub(r"^qos = 1 ", f"qos = {qos} ", text, flags=re.M)
        path = os.path.join(self.work, f"{template}.qos{qos}.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_runnel(self, pipeline, state, log_path, binary=None):
        subprocess.run(["rm", "-rf", state], check=True)
        runnel = RunnelProcess(binary or self.runnel,
                               ["run", pipeline, "--state-dir", state, "--no-dashboard"],
                               log_path, cwd=self.root).start()
        STARTED.append(runnel.process)
        try:
            runnel.wait_for_log("subscribed to")
        except AssertionError:
            fail(f"runnel did not subscribe:\n{runnel.log()}")
        return runnel

    def stop_runnel(self, runnel):
        rss = peak_rss_kib(runnel.pid)
        try:
            text = runnel.stop(timeout=60).log
        except AssertionError as e:
            fail(str(e))
        self.forget_session()
        return rss, text

    def forget_session(self):
        """Ends Runnel's persistent session, so the broker stops queueing for it."""
        client = mqtt.Client(client_id="runnel-bench-env", protocol=mqtt.MQTTv5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0
        client.connect("127.0.0.1", self.port, clean_start=True, properties=props)
        client.disconnect()

    @staticmethod
    def logged(db):
        """(records in the input log, first arrival) or (0, None) before the first commit."""
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                return input_log.count_and_first_arrival(con)
            finally:
                con.close()
        except sqlite3.Error:
            return 0, None

    # --- runs --------------------------------------------------------------------------------
    def raw_run(self, qos):
        sub = self.start_subscriber(qos, self.count)
        publisher = self.publish(qos, self.count)
        pub_rate = self.finish_publisher(publisher)
        result = self.finish_subscriber(sub)
        return {"rate": result["rate"], "rss_kib": result["peak_rss_kib"], "pub_rate": pub_rate,
                "cpu_us": result["cpu_seconds"] / self.count * 1e6}

    def runnel_run(self, qos, label, binary):
        state = os.path.join(self.work, f"state-{label}")
        log_path = os.path.join(self.results, f"{label}.log")
        runnel = self.start_runnel(self.pipeline("mqtt_window.toml", qos), state, log_path,
                                   binary)
        db = os.path.join(state, "runnel.db")
        cpu_before = cpu_seconds(runnel.pid)
        publisher = self.publish(qos, self.count)
        deadline = time.monotonic() + 300
        logged = 0
        while logged < self.count:
            if time.monotonic() > deadline or not runnel.running():
                break
            time.sleep(POLL_S)
            logged, first_arrival = self.logged(db)
        done = time.time()
        cpu = cpu_seconds(runnel.pid) - cpu_before if runnel.running() else float("nan")
        pub_rate = self.finish_publisher(publisher)
        time.sleep(1)  # anything beyond N (a duplicate) would show now
        logged, first_arrival = self.logged(db)
        rss, text = self.stop_runnel(runnel)
        summary = re.search(r"(\d+) records read, (\d+) rejected", text)
        if logged != self.count or not summary or int(summary.group(1)) != self.count or \
                int(summary.group(2)) != 0:
            fail(f"{label}: published {self.count}, input log has {logged}, run summary says "
                 f"{summary.group(0) if summary else 'nothing'} (see {log_path})")
        subprocess.run(["rm", "-rf", state], check=True)
        return {"rate": self.count / (done - first_arrival / 1000), "rss_kib": rss,
                "pub_rate": pub_rate, "cpu_us": cpu / self.count * 1e6}

    def latency_run(self, qos, rate):
        """Publish -> commit of the step that produced the result row (table `latest`) and
        that logged the record (input log), by polling runnel.db every POLL_LATENCY_S."""
        count = int(rate * LATENCY_SECONDS)
        label = f"latency_qos{qos}"
        state = os.path.join(self.work, f"state-{label}")
        log_path = os.path.join(self.results, f"{label}.log")
        runnel = self.start_runnel(self.pipeline("mqtt_latency.toml", qos), state, log_path)
        publisher = self.publish(qos, count, rate=rate, stamp=True)
        db = os.path.join(state, "runnel.db")
        con = None
        result_ms, logged_ms = [], []
        last_row, last_seq = 0, 0
        deadline = time.monotonic() + 3 * LATENCY_SECONDS + 30
        while len(result_ms) < count or len(logged_ms) < count:
            if time.monotonic() > deadline or not runnel.running():
                break
            time.sleep(POLL_LATENCY_S)
            try:
                if con is None:
                    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                rows = con.execute("SELECT rowid, ts FROM latest WHERE rowid > ? ORDER BY rowid",
                                   (last_row,)).fetchall()
                seqs = [(seq, t) for seq, t, _, _ in input_log.records_after(con, last_seq)]
            except sqlite3.Error:
                continue  # not created yet
            now = time.time() * 1000
            result_ms += [now - ts for _, ts in rows]
            logged_ms += [now - ts for _, ts in seqs]
            if rows:
                last_row = rows[-1][0]
            if seqs:
                last_seq = seqs[-1][0]
        pub_rate = self.finish_publisher(publisher)
        if con is not None:
            journal = sorted(a - t for _, t, a, _ in input_log.records_after(con))
            con.close()
        rss, _ = self.stop_runnel(runnel)
        subprocess.run(["rm", "-rf", state], check=True)
        if len(result_ms) != count or len(logged_ms) != count or len(journal) != count:
            fail(f"{label}: published {count}, saw {len(result_ms)} result rows and "
                 f"{len(logged_ms)} logged records (see {log_path})")

        def quantiles(values):
            values = sorted(values)
            return {q: values[min(len(values) - 1, int(q * len(values)))] for q in (0.5, 0.99)}

        return {"count": count, "rate": rate, "pub_rate": pub_rate,
                "result": quantiles(result_ms), "result_max": max(result_ms),
                "logged": quantiles(logged_ms), "journal": quantiles(journal), "rss_kib": rss}


def main():
    root, bin_dir, runnel, results, count, runs = sys.argv[1:7]
    baseline = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] else None
    count, runs = int(count), int(runs)
    os.makedirs(results, exist_ok=True)
    bench = Bench(root, bin_dir, runnel, results, count, baseline)
    programs = ("raw", "runnel", "baseline") if baseline else ("raw", "runnel")
    bench.start_broker()
    try:
        payload_bytes = bench.generate_messages()
        rows = []
        tsv = open(os.path.join(results, "runs.tsv"), "w")
        tsv.write("round\tqos\tprogram\trate\trss_kib\tpublisher_rate\tcpu_us_per_msg\tload1\n")
        for r in range(1, runs + 1):
            for qos in (0, 1):
                for program in programs:
                    load = os.getloadavg()[0]
                    if program == "raw":
                        result = bench.raw_run(qos)
                    else:
                        result = bench.runnel_run(qos, f"{program}_qos{qos}_run{r}",
                                                  bench.binaries[program])
                    rows.append((r, qos, program, result))
                    tsv.write(f"{r}\t{qos}\t{program}\t{result['rate']:.0f}\t{result['rss_kib']}"
                              f"\t{result['pub_rate']:.0f}\t{result['cpu_us']:.2f}\t{load:.2f}\n")
                    tsv.flush()
                    log(f"round {r} QoS {qos} {program}: {result['rate']:.0f} msg/s, peak RSS "
                        f"{result['rss_kib'] / 1024:.0f} MB, {result['cpu_us']:.1f} us CPU per "
                        f"message (publisher {result['pub_rate']:.0f} msg/s, load {load:.2f})")
        latencies = {}
        medians = {}
        for qos in (0, 1):
            for program in programs:
                medians[qos, program] = statistics.median(
                    res["rate"] for _, q, p, res in rows if q == qos and p == program)
            latencies[qos] = bench.latency_run(qos, int(medians[qos, "runnel"] / 2))
            lat = latencies[qos]
            log(f"latency QoS {qos} at {lat['rate']} msg/s: result row p50 "
                f"{lat['result'][0.5]:.0f} ms, p99 {lat['result'][0.99]:.0f} ms; input log p50 "
                f"{lat['logged'][0.5]:.0f} ms, p99 {lat['logged'][0.99]:.0f} ms; journal p50 "
                f"{lat['journal'][0.5]} ms, p99 {lat['journal'][0.99]} ms")
    finally:
        bench.stop_broker()
        shutil.rmtree(bench.work, ignore_errors=True)

    with open(os.path.join(results, "summary.md"), "w") as f:
        f.write(f"{count} messages per run ({payload_bytes} bytes median payload), {runs} rounds, "
                f"broker settings: {'; '.join(BROKER_SETTINGS)}\n\n")
        f.write("| QoS | raw subscriber msg/s (median) | Runnel msg/s (median) | Runnel / raw | "
                "runs raw | runs Runnel | Runnel peak RSS MB |\n|---|---:|---:|---:|---|---|---:|\n")
        for qos in (0, 1):
            raw = [res["rate"] for _, q, p, res in rows if q == qos and p == "raw"]
            run = [res["rate"] for _, q, p, res in rows if q == qos and p == "runnel"]
            rss = max(res["rss_kib"] for _, q, p, res in rows if q == qos and p == "runnel")
            f.write(f"| {qos} | {medians[qos, 'raw']:.0f} | {medians[qos, 'runnel']:.0f} | "
                    f"{medians[qos, 'runnel'] / medians[qos, 'raw']:.2f} | "
                    f"{', '.join(f'{v:.0f}' for v in raw)} | {', '.join(f'{v:.0f}' for v in run)} | "
                    f"{rss / 1024:.0f} |\n")
        f.write("\nCPU time per message while draining (user + system, all threads; the raw "
                "subscriber from \"ready\" to the last message, Runnel from before the first "
                "publish to the commit of the last record), medians:\n\n| QoS | raw subscriber "
                "us | Runnel us | " + ("baseline us | " if baseline else "") +
                "Runnel - raw us |\n|---|---:|---:|" + ("---:|" if baseline else "") + "---:|\n")
        for qos in (0, 1):
            cpu = {p: statistics.median(res["cpu_us"] for _, q, pp, res in rows
                                        if q == qos and pp == p) for p in programs}
            f.write(f"| {qos} | {cpu['raw']:.2f} | {cpu['runnel']:.2f} | " +
                    (f"{cpu['baseline']:.2f} | " if baseline else "") +
                    f"{cpu['runnel'] - cpu['raw']:.2f} |\n")
        f.write("\n| QoS | rate msg/s | messages | publish -> result row committed p50 / p99 / "
                "max ms | publish -> input log committed p50 / p99 ms | publish -> journal "
                "p50 / p99 ms | Runnel peak RSS MB |\n|---|---:|---:|---|---|---|---:|\n")
        for qos, lat in latencies.items():
            f.write(f"| {qos} | {lat['rate']} | {lat['count']} | {lat['result'][0.5]:.0f} / "
                    f"{lat['result'][0.99]:.0f} / {lat['result_max']:.0f} | "
                    f"{lat['logged'][0.5]:.0f} / {lat['logged'][0.99]:.0f} | "
                    f"{lat['journal'][0.5]} / {lat['journal'][0.99]} | "
                    f"{lat['rss_kib'] / 1024:.0f} |\n")
        if baseline:
            f.write("\n| QoS | baseline msg/s (median) | runs | baseline / raw | Runnel / baseline |"
                    "\n|---|---:|---|---:|---:|\n")
            for qos in (0, 1):
                runs_b = [res["rate"] for _, q, p, res in rows if q == qos and p == "baseline"]
                f.write(f"| {qos} | {medians[qos, 'baseline']:.0f} | "
                        f"{', '.join(f'{v:.0f}' for v in runs_b)} | "
                        f"{medians[qos, 'baseline'] / medians[qos, 'raw']:.2f} | "
                        f"{medians[qos, 'runnel'] / medians[qos, 'baseline']:.2f} |\n")
    with open(os.path.join(results, "summary.md")) as f:
        print(f.read())
    ratios = [medians[q, "runnel"] / medians[q, "raw"] for q in (0, 1)]
    if min(ratios) < 0.9:
        log(f"Runnel is below 90 % of the raw rate (ratios {ratios[0]:.2f}, {ratios[1]:.2f})")


if __name__ == "__main__":
    main()
