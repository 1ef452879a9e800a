"""Hostile and broken input: each ends as `error` or `unknown` with a message naming the file,
derivation, step and line, and the rest of the run completes.

(Modules that raise, fail to import or have a syntax error are covered in test_runner.py; here:
a module that loops, steps whose values overflow, are NaN, complex or undefined everywhere, a
derivation that runs past its wall-clock limit, and text from the command line.)
"""
import json
import textwrap
import time

import pytest
import sympy as sp

from deriv import Status, check
from deriv.cli import main
from deriv.parse import ParseError, parse
from deriv.runner import run

GOOD = """
import sympy as sp
from deriv.model import Derivation
x = sp.Symbol("x", real=True)
d = Derivation("good/square", "a square", domain={x: (-2, 2)})
d.start(1, (x + 1)**2)
d.eq(2, x**2 + 2*x + 1)
"""


def _write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "mods"
    folder.mkdir()
    _write(folder, "good.py", GOOD)
    return folder


def test_a_module_that_loops_is_stopped_at_its_line_and_the_rest_is_checked(isolated):
    _write(isolated, "loops.py", """
        import sympy as sp
        from deriv.model import Derivation
        d = Derivation("loops/never", "never finishes loading")
        n = 0
        while True:
            n += 1
        """)
    started = time.monotonic()
    result = run([isolated], load_seconds=1.5, use_cache=False)
    assert time.monotonic() - started < 30
    assert [d.id for d in result.derivations] == ["good/square"]
    assert result.derivations[0].steps[0].verdict.status is Status.PROVED
    (failure,) = result.failures
    assert failure.file.endswith("loops.py")
    assert "loops.py:7:" in failure.message or "loops.py:6:" in failure.message  # the loop's line
    assert "did not finish loading within 1.5 s" in failure.message


HOSTILE_STEPS = """
import sympy as sp
from deriv.model import Derivation
x = sp.Symbol("x", real=True)
d = Derivation("hostile/values", "values that break float64", domain={x: (5, 10)})
d.start(10, sp.exp(sp.exp(x)))
d.eq(11, sp.exp(sp.exp(x)) + 1)                   # overflows float64; differs by exactly 1
u = Derivation("hostile/undefined", "undefined values", domain={x: (-3, -1)})
u.start(20, sp.log(x))
u.eq(21, sp.log(-x))                              # complex on the whole domain: log(x) = log(-x) + i pi
u.start(22, 1 / (x - x))
u.eq(23, x)                                       # zoo: a division by zero
u.start(24, sp.sqrt(x) * sp.sqrt(x - 1))
u.eq(25, sp.sqrt(x * (x - 1)))                    # complex on both sides: differ by a sign
n = Derivation("hostile/nan", "nan", domain={x: (0, 1)})
n.start(30, sp.nan)
n.eq(31, x)
"""


def test_steps_that_overflow_are_nan_complex_or_undefined(isolated):
    _write(isolated, "hostile.py", HOSTILE_STEPS)
    result = run([isolated], use_cache=False, timeout=60)
    steps = {(d.id, s.line): s for d in result.derivations for s in d.steps}
    # overflow in float64, but 50+ digits (with digits to spare for the magnitude) see the 1
    overflow = steps[("hostile/values", 11)].verdict
    assert overflow.status is Status.REFUTED and overflow.evidence["difference"].startswith("-1.0")
    # log(x) - log(-x) = i*pi for x < 0: complex values are compared, and differ
    assert steps[("hostile/undefined", 21)].verdict.status is Status.REFUTED
    zoo = steps[("hostile/undefined", 23)].verdict
    assert zoo.status is Status.ERROR and "division by zero" in zoo.detail
    # sqrt(x)*sqrt(x-1) = -sqrt(x(x-1)) for x < 0 (both factors imaginary): refuted, not proved
    assert steps[("hostile/undefined", 25)].verdict.status is Status.REFUTED
    nan = steps[("hostile/nan", 31)].verdict
    assert nan.status is Status.ERROR and "nan" in nan.detail
    assert steps[("good/square", 2)].verdict.status is Status.PROVED  # the rest completes


def test_the_error_message_names_file_derivation_step_and_line(isolated, capsys):
    _write(isolated, "hostile.py", HOSTILE_STEPS)
    code = main(["verify", str(isolated), "-j", "1", "--no-cache", "-k", "undefined"])
    text = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "hostile.py" in text and "derivation hostile/undefined, step 2, line 23" in text
    assert "division by zero" in text


def test_a_derivation_past_its_wall_clock_limit_ends_unknown_and_the_others_run(isolated):
    _write(isolated, "slow.py", """
        import time
        from deriv import ExperimentResult
        from deriv.model import Derivation
        def slow():
            time.sleep(1.0)
            return ExperimentResult(True, "slept")
        d = Derivation("slow/steps", "eight slow experiments")
        for line in range(1, 9):
            d.experiment(line, "sleeps a second", slow)
        """)
    for jobs in (1, 2):
        result = run([isolated], jobs=jobs, use_cache=False, derivation_seconds=1.5)
        by_id = {d.id: d for d in result.derivations}
        statuses = [s.verdict.status for s in by_id["slow/steps"].steps]
        # serially the third step starts after the limit; in parallel the steps already handed to
        # a worker run to the end, and the ones not started yet are not started
        assert statuses[:2] == [Status.NUMERIC, Status.NUMERIC], (jobs, statuses)
        assert Status.UNKNOWN in statuses[2:], (jobs, statuses)
        assert statuses[-1] is Status.UNKNOWN, (jobs, statuses)
        limited = [s for s in by_id["slow/steps"].steps if s.verdict.status is Status.UNKNOWN]
        assert all(s.verdict.method == "derivation-limit" and "1.5 s" in s.verdict.detail for s in limited)
        assert by_id["good/square"].steps[0].verdict.status is Status.PROVED


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch /tmp/deriv-pwned')",
    "x.__class__",
    "(lambda: 1)()",
    "[x for x in (1, 2)]",
    "open('/etc/passwd')",
    "x if x else 1",
    "'text'",
    "exp(x, base=2)",
    "2**10**10",
    "factorial(10**7)",
])
def test_text_is_parsed_without_running_code(text, tmp_path):
    with pytest.raises(ParseError):
        parse(text)


def test_text_reads_like_mathematics():
    x, m = sp.Symbol("x", real=True), sp.Symbol("m", positive=True)
    assert parse("(x+1)^2 - 2*x") == (x + 1) ** 2 - 2 * x
    assert parse("log(2*m) + exp(-m)/2", {"m": m}) == sp.log(2 * m) + sp.exp(-m) / 2
    assert parse("pi*e") == sp.pi * sp.E
    assert parse("1.5e-3") == sp.Float("1.5e-3")


def test_deriv_check_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["check", "(x+1)^2", "x^2 + 2*x - 1", "--domain", "x=-3:3", "--json", str(out)]) == 1
    verdict = json.loads(out.read_text())
    assert verdict["status"] == "refuted"
    assert verdict["evidence"]["diagnosis"]["suggestion"]["rhs"] == "x**2 + 2*x + 1"
    assert main(["check", "log(2*m)", "log(2) + log(m)", "--symbol", "m:positive"]) == 0
    assert main(["check", "m*exp(m)/(exp(m)-1)^2 - 1/m", "0", "--limit", "m=0"]) == 0
    assert main(["check", "__import__('os')", "1"]) == 2
    assert "unknown function" in capsys.readouterr().err


def test_huge_sides_that_differ_by_one_are_told_apart():
    x = sp.Symbol("x", real=True)
    equal = check(sp.exp(700 + x) * sp.exp(x), sp.exp(700 + 2 * x), domain={x: (0, 1)})
    assert equal.status in (Status.PROVED, Status.NUMERIC)
    apart = check(sp.exp(700 + x), sp.exp(700 + x) + 1, domain={x: (0, 1)})
    assert apart.status is Status.REFUTED
