"""Time budgets are enforced, not hoped for (deriv.budget), and a check never outlives its timeout."""
import os
import time

import pytest
import sympy as sp

from deriv import Status, check
from deriv import budget
from deriv.budget import BudgetExceeded, alarm

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
m = sp.Symbol("m", positive=True)
p = sp.Symbol("p", positive=True)

HANG_LIMIT = 30.0  # generous: these tests check that nothing hangs, not speed


def _sleep_and_report(pid_file):
    pid_file.write_text(str(os.getpid()))
    time.sleep(100)


def test_sleeping_child_is_killed_at_its_budget(tmp_path):
    pid_file = tmp_path / "child.pid"
    start = time.monotonic()
    outcome = budget.run(_sleep_and_report, pid_file, seconds=1)
    elapsed = time.monotonic() - start
    assert outcome.timed_out
    assert not outcome.ok
    assert outcome.value is None and outcome.error is None
    assert 0.9 <= elapsed < 10
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(child, 0)


def test_exception_in_the_child_comes_back_as_an_error():
    def fail():
        raise ValueError("the integrand has no closed form")

    outcome = budget.run(fail, seconds=10)
    assert not outcome.timed_out and not outcome.ok
    assert "ValueError" in outcome.error
    assert "the integrand has no closed form" in outcome.error


def test_value_comes_back():
    outcome = budget.run(lambda a, b=0: {"sum": a + b, "expr": sp.sin(x) ** 2}, 2, b=3, seconds=10)
    assert outcome.ok
    assert outcome.value == {"sum": 5, "expr": sp.sin(x) ** 2}
    assert outcome.seconds < 10


def test_unpicklable_value_is_an_error_not_a_crash():
    outcome = budget.run(lambda: (lambda: 1), seconds=10)
    assert outcome.error is not None
    assert "could not be sent back" in outcome.error


def test_child_that_dies_without_answering_is_an_error():
    outcome = budget.run(lambda: os._exit(7), seconds=10)
    assert outcome.error is not None
    assert "died" in outcome.error


def test_sub_budget_inside_the_child_reports_a_timeout():
    def spin():
        with alarm(0.2):
            while True:
                pass

    start = time.monotonic()
    outcome = budget.run(spin, seconds=20)
    assert outcome.timed_out
    assert time.monotonic() - start < 10


def test_nested_alarm_keeps_the_tighter_deadline_and_restores_the_outer_one():
    start = time.monotonic()
    with pytest.raises(BudgetExceeded) as caught:
        with alarm(1.0):
            with pytest.raises(BudgetExceeded):
                with alarm(0.1):
                    time.sleep(3)
            inner_done = time.monotonic() - start
            time.sleep(10)  # the outer alarm must still fire, at its own deadline
    assert inner_done < 0.6
    assert 0.9 < time.monotonic() - start < 3
    assert caught.value.seconds == 1.0
    assert "timed out after 1 s" in str(caught.value)


# -- whole checks under a timeout ---------------------------------------------------------------

def test_slow_symbolic_proof_ends_within_its_budget():
    # (sqrt(p+1) + sqrt(p))^60 (sqrt(p+1) - sqrt(p))^60 = 1: true, but expanding it is slow
    k = 60
    lhs = (sp.sqrt(p + 1) + sp.sqrt(p)) ** k * (sp.sqrt(p + 1) - sp.sqrt(p)) ** k * sp.sqrt(p + 2)
    start = time.monotonic()
    v = check(lhs, sp.sqrt(p + 2), timeout=2, domain={p: (0.5, 2)})
    elapsed = time.monotonic() - start
    assert v.status in (Status.UNKNOWN, Status.NUMERIC), v
    assert "timed out" in v.detail
    assert elapsed < HANG_LIMIT
    assert v.seconds <= 2 + 1.0


def test_step_over_its_whole_timeout_is_unknown():
    # Fubini: the same double integral in both orders. Cheap rewrites do not apply, and each
    # high-precision point is a nested quadrature, so the step as a whole runs out of time.
    g = sp.exp(-m * x * y) * sp.log(2 + x + y**2)
    lhs = sp.Integral(g, (x, 0, 1), (y, 0, 1))
    rhs = sp.Integral(g, (y, 0, 1), (x, 0, 1))
    start = time.monotonic()
    v = check(lhs, rhs, timeout=0.5)
    elapsed = time.monotonic() - start
    assert v.status == "unknown", v
    assert v.detail == "timed out after 0.5 s"
    assert v.method == "budget"
    assert v.counterexample is None
    assert elapsed < HANG_LIMIT
