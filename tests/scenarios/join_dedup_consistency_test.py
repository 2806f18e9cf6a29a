#!/usr/bin/env python3
"""The consistency guarantee (SPEC §3) for as-of joins and dedup, end to end through the
runnel binary: two sources (readings and calibrations) arrive in random orders whose disorder
is bounded by max_delay, so no record is late; replayed with several batch sizes, every as-of
join configuration (direction x tolerance x allow_exact x emit) and dedup (both emit modes)
must consolidate (rows summed by diff) to exactly the static run's output, and the static run
emits no retraction. (The static run itself is compared with pandas.merge_asof in
randomized_reference_test.py.)

usage: join_dedup_consistency_test.py RUNNEL [SEED] [ROUNDS]
"""
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pipeline_files import write_file  # noqa: E402
from runnel_outputs import consolidated, retractions  # noqa: E402
from runnel_process import run_runnel  # noqa: E402

RUNNEL = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 5
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
MAX_DELAY_MS = 3000


def views():
    out = []
    for direction in ("backward", "forward", "nearest"):
        for tolerance in (None, "2s"):
            for exact in (True, False):
                for emit in ("final", "updates"):
                    name = f"j_{direction}_{'t' if tolerance else 'n'}_{'e' if exact else 's'}_{emit[0]}"
                    tol = f', tolerance = "{tolerance}"' if tolerance else ""
                    out.append((name, f"""
[[view]]
name = "{name}"
asof_join = {{ left = "env", right = "cal", by = ["device"], direction = "{direction}"{tol}, allow_exact = {str(exact).lower()} }}
select = ["device", "ts", "v", "gain = right.gain", "cal_ts = right.ts"]
emit = "{emit}"
"""))
    for emit in ("final", "updates"):
        out.append((f"d_{emit[0]}", f"""
[[view]]
name = "d_{emit[0]}"
from = "env"
dedup = {{ by = ["device", "v"], within = "4s" }}
emit = "{emit}"
"""))
    return out


def pipeline(mode, batch, data, out):
    text = f"""
[runtime]
batch_size = {batch}

[[source]]
name = "env"
file = "{data}/env.csv"
mode = "{mode}"
time = "ts"
max_delay = "{MAX_DELAY_MS}ms"
fields = {{ device = "string", ts = "int", v = "int" }}

[[source]]
name = "cal"
file = "{data}/cal.csv"
mode = "{mode}"
time = "ts"
max_delay = "{MAX_DELAY_MS}ms"
fields = {{ device = "string", ts = "int", gain = "int" }}
"""
    for name, view in views():
        text += view + f'\n[[sink]]\nfrom = "{name}"\nfile = "{out}/{name}.csv"\n'
    return text


def bounded_disorder(rng, records):
    """Arrival order in which every record's time >= max(earlier times) - MAX_DELAY_MS."""
    keyed = sorted(records, key=lambda r: r[1] + rng.uniform(0, MAX_DELAY_MS))
    return keyed


def make_data(rng, directory):
    env, cal = [], []
    t = 0
    for _ in range(rng.randint(150, 300)):
        t += rng.choice([0, 100, 200, 500, 1000])  # many equal times
        device = rng.choice(["a", "b", "c", ""])   # "" is a null key
        env.append((device, t, rng.randint(0, 5)))
        if rng.random() < 0.3:
            cal.append((rng.choice(["a", "b", "c", ""]), t + rng.choice([-1500, -100, 0, 100, 2000]),
                        rng.randint(1, 9)))
    for name, header, rows in (("env.csv", "device,ts,v", env), ("cal.csv", "device,ts,gain", cal)):
        with open(os.path.join(directory, name), "w") as f:
            f.write(header + "\n")
            f.writelines(f"{d},{ts},{x}\n" for d, ts, x in bounded_disorder(rng, rows))


def run(work, mode, batch, data):
    out = os.path.join(work, f"out-{mode}-{batch}")
    os.makedirs(out, exist_ok=True)
    path = write_file(os.path.join(work, f"{mode}-{batch}.toml"), pipeline(mode, batch, data, out))
    result = run_runnel(RUNNEL, "run", path, "--no-dashboard", "--state-dir",
                        os.path.join(work, f"state-{mode}-{batch}"), "--reset-state")
    if result.returncode != 0:
        sys.exit(f"runnel {mode} failed: {result.stderr}")
    if " 0 late" not in result.stderr:
        sys.exit(f"records were late in a run without late records:\n{result.stderr}")
    return out


def main():
    rng = random.Random(SEED)
    checked = 0
    for round_ in range(ROUNDS):
        work = tempfile.mkdtemp(prefix="runnel-joincons-")
        make_data(rng, work)
        static = run(work, "static", 4096, work)
        for batch in (1, 7, 64):
            replay = run(work, "replay", batch, work)
            for name, _ in views():
                expected = consolidated(os.path.join(static, f"{name}.csv"))
                if retractions(os.path.join(static, f"{name}.csv")):
                    sys.exit(f"round {round_}: the static run of {name} emitted retractions")
                actual = consolidated(os.path.join(replay, f"{name}.csv"))
                if actual != expected:
                    missing = [k for k in expected if actual.get(k) != expected[k]]
                    extra = [k for k in actual if expected.get(k) != actual[k]]
                    sys.exit(f"round {round_}, batch {batch}, view {name}: replay differs from "
                             f"static (data in {work})\n  static only: {missing[:3]}\n"
                             f"  replay only: {extra[:3]}")
                checked += 1
    print(f"ok: {checked} replayed view outputs equal the static run")


if __name__ == "__main__":
    main()
