"""deriv's pytest plugin (deriv/pytest_plugin.py): derivation steps as pytest items.

Each test builds a tiny project with pytester and runs pytest on it; the verdict cache is off
(`--deriv-no-cache`) or in a temporary folder, so every step is really checked.
"""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# The plugin imports deriv's engine (numpy, numba...) only when it collects a derivation; import it
# here, before pytester's in-process runs snapshot sys.modules: a C extension such as numpy cannot
# be imported a second time in one process after the snapshot is restored.
import deriv.runner  # noqa: E402,F401

pytest_plugins = ["pytester"]

DEMO = """\
import sympy as sp
from deriv import Derivation

x = sp.Symbol("x", real=True)

true = Derivation("demo/true", "a true step", source="demo.md", domain={x: (-3, 3)})
true.start(1, (x + 1)**2)
true.eq(2, x**2 + 2*x + 1)

wrong = Derivation("demo/wrong", "an unexpected mistake", source="demo.md", domain={x: (-3, 3)})
wrong.start(4, (x + 1)**2)
wrong.eq(5, x**2 + 1)

# the same id again: the collector is named demo/wrong#2
known = Derivation("demo/wrong", "a documented mistake", source="demo.md", domain={x: (-3, 3)})
known.start(7, (x + 1)**2)
known.eq(8, x**2 + 1, expect="refuted", note="the cross term 2x is missing", corrected=x**2 + 2*x + 1)
"""

BROKEN = """\
from deriv import Derivation

import deriv_no_such_module
"""

SYNTAX_ERROR = """\
from deriv import Derivation
d = Derivation("demo/syntax"
"""

# executing this file leaves a mark, so a test can tell that it was never loaded
NOT_A_DERIVATION = """\
from pathlib import Path
from deriv import Derivation
Path(__file__).with_suffix(".ran").write_text("loaded")
import sympy as sp
Derivation("not/collected").start(1, sp.Integer(1)).eq(2, sp.Integer(1))
"""

STEPS = {  # files in name order, then derivations and steps in module order
    "derivations/broken.py::load": "failed",
    "derivations/demo.py::demo/true::step-1 (line 2)": "passed",
    "derivations/demo.py::demo/wrong::step-1 (line 5)": "failed",
    "derivations/demo.py::demo/wrong#2::step-1 (line 8)": "passed",
    "derivations/demo.py::demo/wrong#2::step-2 (line 8, corrected)": "passed",
    "derivations/syntax.py::load": "failed",
}


@pytest.fixture
def project(pytester, monkeypatch, tmp_path):
    """derivations/{broken,demo,syntax}.py, plus .py files the plugin must never load."""
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path / "cache"))
    pytester.makepyfile(**{"derivations/demo": DEMO, "derivations/broken": BROKEN, "derivations/syntax": SYNTAX_ERROR,
                           "derivations/_private": NOT_A_DERIVATION, "elsewhere": NOT_A_DERIVATION,
                           "lib/derivations_util": NOT_A_DERIVATION})
    return pytester


def line_of(start: str) -> int:
    """1-based line of DEMO that starts with `start`."""
    return next(n for n, line in enumerate(DEMO.splitlines(), 1) if line.startswith(start))


def outcomes(result) -> dict[str, str]:
    """nodeid -> outcome of the call phase, from an in-process run."""
    return {r.nodeid: r.outcome for r in result.reprec.getreports("pytest_runtest_logreport")
            if r.when == "call"}


def properties(junit: Path) -> dict[str, dict[str, str]]:
    """'classname::name' of each test case -> its properties, from a JUnit XML file."""
    cases = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cases[f"{case.get('classname')}::{case.get('name')}"] = props
    return cases


def test_collect_only_lists_one_item_per_step(project):
    result = project.runpytest("--collect-only", "-q", "--deriv-no-cache")
    listed = [line for line in result.outlines if "::" in line]
    assert listed == list(STEPS)
    assert not list(project.path.rglob("*.ran")), "a file outside the collection rule was loaded"


def test_outcomes_and_failure_text(project):
    result = project.runpytest("--deriv-no-cache")
    assert outcomes(result) == STEPS
    text = result.stdout.str()
    # the unexpected mistake: the claim, the verdict and a counterexample, without a traceback
    wrong = text[text.index("demo/wrong: step 1 (line 5) does not hold"):]
    wrong = wrong[:wrong.index("\n_")] if "\n_" in wrong else wrong
    for expected in ("derivation: demo/wrong -- an unexpected mistake", f"file:       derivations/demo.py:{line_of('wrong.eq(5,')}",
                     "step:       1, line 5 of demo.md", "claim:      (x + 1)**2 = x**2 + 1",
                     "expected:   proved or numeric", "status:     refuted", "counterexample: x = "):
        assert expected in wrong, expected
    assert "Traceback" not in text and "def runtest" not in text and "raise StepFailed" not in text
    # the broken module: file and line, and the other module still ran
    result.stdout.fnmatch_lines(["*derivations/broken.py:3: ModuleNotFoundError: No module named "
                                 "'deriv_no_such_module'*"])
    result.stdout.fnmatch_lines(["*derivations/syntax.py: SyntaxError: *line 2*"])
    result.stdout.fnmatch_lines(["deriv: 4 steps: *; 1 expected refutation; 1 not as expected; "
                                 "2 modules could not be loaded"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_expected_refutation_of_a_true_step_fails(pytester):
    pytester.makepyfile(**{"derivations/right": """
        import sympy as sp
        from deriv import Derivation
        x = sp.Symbol("x", positive=True)
        d = Derivation("demo/right", source="demo.md")
        d.start(None, sp.log(x**2)).eq(None, 2*sp.log(x), expect="refuted", note="claimed wrong")
    """})
    result = pytester.runpytest("--deriv-no-cache")
    assert outcomes(result) == {"derivations/right.py::demo/right::step-1 (no line)": "failed"}
    result.stdout.fnmatch_lines(["demo/right: step 1 (no line) was expected to be refuted "
                                 "(a mistake of the document), but it is *",
                                 "*expected:   refuted, with a counterexample",
                                 "*note:       claimed wrong"])


def test_junitxml_carries_the_verdicts(project, tmp_path):
    project.runpytest("--deriv-no-cache", "--junitxml=report.xml")
    assert not list((tmp_path / "cache").rglob("*.json"))  # --deriv-no-cache writes no verdict
    cases = properties(project.path / "report.xml")
    true = cases["derivations.demo.demo/true::step-1 (line 2)"]
    assert true["deriv_status"] in ("proved", "numeric") and true["deriv_method"]
    assert true["deriv_line"] == "2" and true["deriv_cached"] == "false"
    wrong = cases["derivations.demo.demo/wrong::step-1 (line 5)"]
    assert wrong["deriv_status"] == "refuted" and wrong["deriv_line"] == "5"
    known = cases["derivations.demo.demo/wrong#2::step-1 (line 8)"]
    assert known["deriv_status"] == "refuted" and known["deriv_expected"] == "refuted"
    assert "broken.py:3" in cases["derivations.broken::load"]["deriv_load_error"]


def test_items_point_at_the_derivation_module(project):
    items, _ = project.inline_genitems("--deriv-no-cache")
    located = {item.nodeid: item.location for item in items}
    path, line, name = located["derivations/demo.py::demo/wrong#2::step-2 (line 8, corrected)"]
    assert path == "derivations/demo.py" and name == "demo/wrong#2::step-2 (line 8, corrected)"
    assert line == line_of("known.eq(8,") - 1  # 0-based, as pytest's locations are
    assert located["derivations/broken.py::load"][:2] == ("derivations/broken.py", 2)  # line 3
    assert located["derivations/syntax.py::load"][:2] == ("derivations/syntax.py", 1)  # line 2


def test_xdist_spreads_the_steps(project):
    result = project.runpytest_subprocess("-n", "2", "--deriv-no-cache", "-rA")
    result.stdout.fnmatch_lines(["*2 workers*"])
    for nodeid, outcome in STEPS.items():
        result.stdout.fnmatch_lines([f"{outcome.upper()} {nodeid}*"])
    result.assert_outcomes(passed=3, failed=3)


def test_verdict_cache(project, tmp_path):
    cache = tmp_path / "cache"  # $DERIV_CACHE_DIR
    project.runpytest("-k", "demo/true", "--junitxml=cold.xml")
    assert any(cache.rglob("*.json"))
    warm = project.runpytest("-k", "demo/true", "--junitxml=warm.xml")
    warm.stdout.fnmatch_lines(["deriv: 1 step: *; 1 from the verdict cache"])
    cold_props = properties(project.path / "cold.xml")["derivations.demo.demo/true::step-1 (line 2)"]
    warm_props = properties(project.path / "warm.xml")["derivations.demo.demo/true::step-1 (line 2)"]
    assert cold_props["deriv_cached"] == "false" and warm_props["deriv_cached"] == "true"
    assert warm_props["deriv_status"] == cold_props["deriv_status"]


def test_deriv_files_ini_option(pytester):
    pytester.makeini("[pytest]\nderiv_files =\n    proofs/*.py\n")
    pytester.makepyfile(**{"proofs/square": """
        import sympy as sp
        from deriv import Derivation
        x = sp.Symbol("x", real=True)
        Derivation("proofs/square").start(1, (x - 1)**2).eq(2, x**2 - 2*x + 1)
    """, "other/square": NOT_A_DERIVATION})
    result = pytester.runpytest("--collect-only", "-q", "--deriv-no-cache")
    assert [line for line in result.outlines if "::" in line] == \
        ["proofs/square.py::proofs/square::step-1 (line 2)"]
    assert not (pytester.path / "other" / "square.ran").exists()


def test_options(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["deriv: every step of a derivation as a test item:",
                                 "*--deriv-no-cache*", "*--deriv-timeout=SECONDS*", "*--deriv-points=N*"])
    result.stdout.fnmatch_lines(["*deriv_files (linelist)*"])
    bad = pytester.runpytest("--deriv-points", "0")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--deriv-points must be at least 1, not 0*"])


def test_deriv_files_may_name_documents(pytester):
    pytester.makeini("[pytest]\nderiv_files =\n    posts/*.md\n")
    posts = pytester.path / "posts"
    posts.mkdir()
    (posts / "post.md").write_text("$$ (a + 1)^2 = a^2 + 2a + 1 $$\n\n$$ (a - 1)^2 = a^2 + 1 $$\n")
    (pytester.path / "notes.md").write_text("$$ 1 = 2 $$\n")  # not matched: not collected
    result = pytester.runpytest("-q", "--deriv-no-cache")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*post/L3::step-1 (line 3)*"])


def test_document_suffixes_agree_with_the_reader():
    from deriv import document, pytest_plugin
    assert pytest_plugin.DOCUMENT_SUFFIXES == document.DOCUMENT_SUFFIXES
