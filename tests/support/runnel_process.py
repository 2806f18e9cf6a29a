"""The real `runnel` binary, run by the end-to-end tests and benchmarks.

    result = run_runnel(runnel, "run", "p.toml", cwd=work, check=True)   # to its exit
    with RunnelProcess(runnel, ["run", "p.toml"], log_path, cwd=work) as run:
        run.wait_for_log("subscribed to")   # fails at once if runnel exits
        ended = run.stop()          # SIGTERM; exit 0 required; Ended(code, seconds, log)
        run.start()                 # again, appending to the same log

Single-threaded: one test thread drives each process.
"""
import dataclasses
import signal
import subprocess
import time

from waiting import WaitTimeout, wait_for


def run_runnel(runnel, *args, cwd=None, timeout=120, check=False):
    """Runs `runnel ARGS` to its exit, standard output and error captured as text.

    check=True requires exit 0 (the failure shows standard error)."""
    result = subprocess.run([runnel, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"runnel {' '.join(args)} exited with {result.returncode}:\n"
                             f"{result.stderr}")
    return result


@dataclasses.dataclass
class Ended:
    """How a signalled runnel ended: its exit code, the seconds from the signal to the exit,
    and its log so far."""
    code: int
    seconds: float
    log: str


class RunnelProcess:
    """`runnel ARGS` in the background; standard error goes to `log_path` (truncated at
    construction, appended to by every start, so a restarted run keeps one log), standard
    output is discarded. The context manager starts it (unless started already) and kills it
    if still running at the end."""

    def __init__(self, runnel, args, log_path, cwd=None):
        self.command = [runnel, *args]
        self.log_path = log_path
        self.cwd = cwd
        self.process = None
        open(log_path, "w").close()

    def start(self):
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd,
                                            stdout=subprocess.DEVNULL, stderr=log)
        return self

    @property
    def pid(self):
        return self.process.pid

    @property
    def returncode(self):
        """The exit code once the process has ended (None while it runs)."""
        return self.process.poll()

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def check_running(self, what="runnel"):
        if self.process is None:
            raise AssertionError(f"runnel was never started, yet waited on for {what}")
        if not self.running():
            raise AssertionError(f"runnel exited with {self.process.returncode} while waiting "
                                 f"for {what} (log {self.log_path}):\n{self.log()}")

    def wait_for(self, predicate, what, timeout=20.0, interval=0.05):
        """wait_for() that fails at once if runnel exits; a timeout shows runnel's log."""
        try:
            return wait_for(predicate, what, timeout, interval, process=self)
        except WaitTimeout as e:
            raise WaitTimeout(f"{e} (log {self.log_path}):\n{self.log()}") from None

    def wait_for_log(self, needle, count=1, timeout=20.0):
        """Waits until `needle` stands `count` times in the log."""
        self.wait_for(lambda: self.log().count(needle) >= count,
                      f"{needle!r} {count}x in runnel's log", timeout)

    def wait(self, timeout=60):
        """Waits for a run that ends by itself; returns its exit code."""
        return self.process.wait(timeout=timeout)

    def stop(self, timeout=30, check=True):
        """SIGTERM, then the exit within `timeout` s (else kill -9 and fail); check=True
        requires exit 0."""
        ended = self.end_with(signal.SIGTERM, timeout)
        if check and ended.code != 0:
            raise AssertionError(f"runnel exited with {ended.code} after SIGTERM (log "
                                 f"{self.log_path}):\n{ended.log}")
        return ended

    def kill9(self):
        """SIGKILL, as a crash."""
        return self.end_with(signal.SIGKILL, 30)

    def end_with(self, sig, timeout):
        """Sends `sig` and waits up to `timeout` s for the exit (else kill -9 and fail)."""
        self.process.send_signal(sig)
        sent = time.monotonic()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"runnel did not stop within {timeout} s of signal {sig} "
                                 f"(log {self.log_path}):\n{self.log()}") from None
        return Ended(code, time.monotonic() - sent, self.log())

    def __enter__(self):
        return self.start() if self.process is None else self

    def __exit__(self, *exc):
        if self.running():
            self.process.kill()
            self.process.wait()
        return False
