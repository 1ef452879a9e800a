"""Time budgets that are enforced, not hoped for.

sympy is pure Python and can run for hours inside one call (`simplify`, `integrate`, `limit`).
A budget here is a forked child process that is killed when its time is up: nothing the child
does -- a C-level bignum loop included -- can outlive it. Inside the child, `alarm` gives finer
sub-budgets with SIGALRM (the child's only thread is its main thread, so signals reach it).
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable


class BudgetExceeded(Exception):
    """Raised inside a computation whose `alarm` sub-budget ran out."""

    def __init__(self, seconds: float):
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Outcome:
    """Result of `run`: exactly one of value / timed_out / error is meaningful."""

    value: Any = None
    timed_out: bool = False
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.error is None


def _fork_available() -> bool:
    return hasattr(os, "fork") and os.environ.get("DERIV_NO_FORK") != "1"


def run(fn: Callable[..., Any], *args: Any, seconds: float, **kwargs: Any) -> Outcome:
    """Run fn(*args, **kwargs) in a forked child; kill it after `seconds`.

    The value must pickle. Exceptions in the child come back as `error` (type, message and the
    innermost frames), never as a silent `None`.
    """
    start = time.monotonic()
    if not _fork_available():  # no fork (Windows) or disabled: in-process with SIGALRM only
        try:
            with alarm(seconds):
                return Outcome(value=fn(*args, **kwargs), seconds=time.monotonic() - start)
        except BudgetExceeded:
            return Outcome(timed_out=True, seconds=time.monotonic() - start)
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            return Outcome(error=_describe(exc), seconds=time.monotonic() - start)

    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        status = 0
        try:
            try:
                payload = ("ok", fn(*args, **kwargs))
            except BudgetExceeded:
                payload = ("timeout", None)
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                payload = ("error", _describe(exc))
            try:
                data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001
                data = pickle.dumps(("error", f"result could not be sent back: {_describe(exc)}"))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)  # never run the parent's atexit handlers or flush its buffers

    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = start + seconds
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            _kill(pid)
        else:
            os.waitpid(pid, 0)
    elapsed = time.monotonic() - start
    if timed_out:
        return Outcome(timed_out=True, seconds=elapsed)
    try:
        kind, value = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - the child died before answering (killed, segfault, OOM)
        return Outcome(error="the checking process died without an answer", seconds=elapsed)
    if kind == "ok":
        return Outcome(value=value, seconds=elapsed)
    if kind == "timeout":
        return Outcome(timed_out=True, seconds=elapsed)
    return Outcome(error=value, seconds=elapsed)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-2:]
    where = "; ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in frames)
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} (at {where})" if where else text


@contextmanager
def alarm(seconds: float | None):
    """Raise BudgetExceeded in the current (main) thread after `seconds`.

    A no-op outside the main thread (signals cannot be delivered there); the process-level
    budget of `run` still holds. Nested alarms keep the tighter deadline.
    """
    import threading

    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_handler = signal.getsignal(signal.SIGALRM)
    previous_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    budget = seconds if previous_remaining <= 0 else min(seconds, previous_remaining)

    def _on_alarm(signum, frame):
        raise BudgetExceeded(seconds)

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(budget, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_remaining > 0:  # restore the outer alarm with what is left of it
            left = previous_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
