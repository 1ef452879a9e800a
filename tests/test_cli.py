"""The command line contract (DESIGN §5): exit codes, JSON schema, filtering."""
import json
import subprocess
import sys
import textwrap

import pytest

GOOD = """
import sympy as sp
from deriv import Derivation
x = sp.Symbol("x", positive=True)
d = Derivation("demo/good", "a true chain", source="demo.md", domain={x: (0.1, 3)})
d.start(1, sp.log(x**2)).eq(2, 2*sp.log(x)).eq(3, sp.log(x) + sp.log(x))
w = Derivation("demo/wrong", "a documented mistake", source="demo.md")
w.start(4, (x + 1)**2)
w.eq(5, x**2 + 1, expect="refuted", note="the cross term 2x is missing", corrected=x**2 + 2*x + 1)
"""

BAD_STEP = """
import sympy as sp
from deriv import Derivation
x = sp.Symbol("x", real=True)
d = Derivation("demo/bad", "an unexpected mistake", source="demo.md")
d.start(7, sp.sin(x)**2).eq(8, 1 - sp.cos(x))
"""

BROKEN = """
from deriv import Derivation
raise RuntimeError("this module is broken on purpose")
"""


def deriv(*args, cwd):
    return subprocess.run([sys.executable, "-m", "deriv", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**__import__("os").environ, "COLUMNS": "160"})


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    return tmp_path


def test_passing_run_exits_0_and_writes_the_json_schema(folder):
    out = folder / "report.json"
    result = deriv("verify", str(folder / "good.py"), "--json", str(out), "--no-cache", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    data = json.loads(out.read_text())
    summary = data["summary"]
    for key in ("derivations", "steps", "proved", "numeric", "refuted", "unknown", "error",
                "unexpected", "seconds"):
        assert key in summary
    assert summary["derivations"] == 2 and summary["steps"] == 4 and summary["unexpected"] == 0
    good, wrong = data["derivations"]
    assert good["id"] == "demo/good" and good["source"] == "demo.md"
    step = good["steps"][0]
    for key in ("index", "line", "relation", "status", "expected", "method", "seconds", "detail",
                "counterexample"):
        assert key in step
    assert [s["line"] for s in good["steps"]] == [2, 3]
    assert all(s["status"] == "proved" for s in good["steps"])
    refuted, corrected = wrong["steps"]
    assert refuted["status"] == "refuted" and refuted["expected"] == "refuted"
    assert set(refuted["counterexample"]) == {"x"}
    assert corrected["correction_of"] == refuted["index"] and corrected["status"] == "proved"


def test_unexpected_refutation_exits_1_and_shows_the_counterexample(folder):
    (folder / "bad.py").write_text(textwrap.dedent(BAD_STEP))
    result = deriv("verify", str(folder), "--no-cache", "-j", "1", cwd=folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL" in result.stdout and "demo/bad:8" in result.stdout
    assert "counterexample" in result.stdout


def test_broken_module_exits_2_and_the_others_are_still_checked(folder):
    (folder / "broken.py").write_text(textwrap.dedent(BROKEN))
    result = deriv("verify", str(folder), "--no-cache", cwd=folder)
    assert result.returncode == 2
    assert "broken.py:3" in result.stdout and "RuntimeError" in result.stdout
    assert "demo/good" in result.stdout  # the good module was checked


def test_keyword_filter_and_missing_path(folder):
    result = deriv("verify", str(folder), "-k", "wrong", "--no-cache", "-q", cwd=folder)
    assert result.returncode == 0 and "1 derivations" in result.stdout
    assert deriv("verify", str(folder / "nope.py"), cwd=folder).returncode == 2
    assert deriv("verify", str(folder), "-k", "no-such-derivation", cwd=folder).returncode == 2


def test_help_explains_statuses_and_exit_codes(folder):
    result = deriv("verify", "--help", cwd=folder)
    assert result.returncode == 0
    for word in ("proved", "numeric", "refuted", "unknown", "--json", "--jobs", "--no-cache", "Exit status"):
        assert word in result.stdout
