"""Pipelines and input files that the end-to-end tests and benchmarks write for runnel.

window_pipeline() is the tumbling-window pipeline that the persistence tests and benchmark
share: one CSV source `env` (device, ts, v; max_delay 5 s), a view `w` of windows per device,
one sink. Its pieces (runtime_section, window_view) serve pipelines with other sources.
TH_NODE_PROFILE is the MQTT tests' device profile (format it with the reporting period).
Plain functions; no shared state.
"""
import csv
import os

WINDOW_AGGREGATES = ("n = count()", "total = sum(v)", "lo = min(v)", "hi = max(v)")

# firmware_configs/th-node.toml of the MQTT tests: temperature and humidity in JSON.
TH_NODE_PROFILE = """
name = "th-node"
topic = "sensors/{{device}}/th"
format = "json"
time = {{ field = "ts", unit = "ms" }}
period = "{period}"
[fields]
temp = {{ path = "t", type = "float", min = -40, max = 85 }}
hum = {{ path = "h", type = "float" }}
"""


def write_file(path, text):
    """Writes `text` to `path`, creating its directory; returns `path`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def write_csv(path, header, rows, append=False):
    """Writes `rows` (with the `header` line unless appending) as CSV, creating the file's
    directory; returns `path`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a" if append else "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        if not append:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def runtime_section(state, checkpoint_interval=None, batch_size=None):
    lines = ["[runtime]", f'state_dir = "{state}"']
    if checkpoint_interval is not None:
        lines.append(f'checkpoint_interval = "{checkpoint_interval}"')
    if batch_size is not None:
        lines.append(f"batch_size = {batch_size}")
    return "\n".join(lines) + "\n"


def window_view(source, size="10s", aggregate=WINDOW_AGGREGATES, emit=None, name="w"):
    """A view of tumbling windows of `size` per device over `source`."""
    aggregates = ", ".join(f'"{a}"' for a in aggregate)
    text = f"""
[[view]]
name = "{name}"
from = "{source}"
window = {{ type = "tumbling", size = "{size}" }}
group_by = ["device"]
aggregate = [{aggregates}]
"""
    if emit is not None:
        text += f'emit = "{emit}"\n'
    return text


def window_pipeline(state, data, mode, size="10s", checkpoint_interval=None, batch_size=None,
                    aggregate=WINDOW_AGGREGATES, emit=None, sink='table = "w"'):
    """Windows of `size` per device over the CSV file or directory `data` (read in `mode`)
    into `sink` (a sink's target line: table = "...", file = "...")."""
    return (runtime_section(state, checkpoint_interval, batch_size) + f"""
[[source]]
name = "env"
file = "{data}"
format = "csv"
mode = "{mode}"
time = "ts"
max_delay = "5s"
fields = {{ device = "string", ts = "int", v = "int" }}
""" + window_view("env", size, aggregate, emit) + f"""
[[sink]]
from = "w"
{sink}
""")
