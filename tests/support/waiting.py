"""Polling for a condition in the end-to-end tests (runnel's output, a table, a port).

    rows = wait_for(lambda: read_rows(), "3 rows", timeout=10)

Raises WaitTimeout, an AssertionError, when time runs out. No shared state.
"""
import time


class WaitTimeout(AssertionError):
    """A condition did not come true in time (callers that compare afterwards may catch it)."""


def wait_for(predicate, what, timeout=10.0, interval=0.05, process=None):
    """Polls `predicate` until it returns a true value, and returns that value.

    With `process` (a RunnelProcess: anything with check_running(what)), fails at once if
    that process exits while waiting."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None:
            process.check_running(what)
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
