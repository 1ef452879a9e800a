"""Diagnosis of refuted steps: the kind of difference, and the nearest step deriv proves."""
import json

import pytest
import sympy as sp

from deriv import Status, check, diagnose
from deriv.cli import main
from deriv.explain import evidence_lines

x, y = sp.symbols("x y", real=True)
WIDE = {x: (-3, 3)}


def _diagnosis(lhs, rhs, relation="eq", domain=WIDE):
    verdict = check(lhs, rhs, relation, domain=domain)
    assert verdict.status is Status.REFUTED, verdict.detail
    return diagnose(lhs, rhs, relation, verdict, domain=domain)


@pytest.mark.parametrize("lhs, rhs, kind, suggested", [
    ((x + 1) ** 2, x**2 + 2 * x - 1, "constant", x**2 + 2 * x + 1),
    ((x + 1) ** 2, -(x**2 + 2 * x + 1), "sign", x**2 + 2 * x + 1),
    (2 * sp.sin(x) * sp.cos(x), sp.sin(2 * x) / 2, "factor", sp.sin(2 * x)),
    (sp.exp(x) * (x + 2), sp.exp(x) * x - 2 * sp.exp(x), "term", None),
])
def test_kind_and_suggestion(lhs, rhs, kind, suggested):
    d = _diagnosis(lhs, rhs)
    assert d["kind"] == kind, d
    if suggested is not None:
        assert d["suggestion"]["status"] == "proved", d
        assert sp.simplify(sp.sympify(d["suggestion"]["rhs"], locals={"x": x}) - suggested) == 0
    else:  # flipping the sign of the term -2 exp(x) closes it: a term, and a suggestion
        assert d["suggestion"] and d["suggestion"]["status"] == "proved", d
        assert "flip the sign" in d["suggestion"]["edit"]


def test_domain_issue_names_an_agreeing_and_a_failing_point():
    d = _diagnosis(sp.sqrt(x**2), x)
    assert d["kind"] == "domain"
    assert "agree at x = " in d["summary"] and "differ at x = -" in d["summary"]
    assert d["suggestion"] is None or d["suggestion"]["status"] != "proved"  # nothing proves sqrt(x²) = ±x


def test_inequality_in_the_wrong_direction():
    d = _diagnosis(x**2 + 1, 2 * x - 2, "le")
    assert d["kind"] == "relation" and "opposite" in d["summary"]
    assert d["suggestion"]["relation"] == "ge"


def test_strict_inequality_between_equal_sides_suggests_the_non_strict_one():
    d = _diagnosis(sp.cos(x) ** 2, 1 - sp.sin(x) ** 2, "lt")
    assert d["kind"] == "relation"
    assert d["suggestion"]["status"] == "proved" and d["suggestion"]["relation"] in ("le", "eq")


def test_no_edit_closes_an_unrelated_claim():
    d = _diagnosis(sp.exp(x), x**3 + 1)
    assert d["suggestion"] is None and d["tried"] > 5
    assert d["kind"] == "term"


def test_a_suggestion_is_never_claimed_proved_from_numbers_alone():
    # log(x*y) = log(x) + log(y) needs positivity; x, y are only real here, so the flipped-sign
    # edit holds on the sampled domain but must not be reported as proved
    dom = {x: (0.1, 3), y: (0.1, 3)}
    d = _diagnosis(sp.log(x * y), sp.log(x) - sp.log(y), domain=dom)
    assert d["suggestion"]["rhs"] == "log(x) + log(y)"
    assert d["suggestion"]["status"] in ("numeric", "proved")
    if d["suggestion"]["status"] == "proved":
        assert check(sp.log(x * y), sp.log(x) + sp.log(y), domain=dom).status is Status.PROVED


def test_lines_of_text_show_counterexample_diagnosis_and_suggestion():
    lhs, rhs = (x + 1) ** 2, x**2 + 2 * x - 1
    verdict = check(lhs, rhs, domain=WIDE)
    verdict = verdict.with_evidence(diagnosis=diagnose(lhs, rhs, "eq", verdict, domain=WIDE))
    text = "\n".join(evidence_lines(verdict))
    assert "counterexample: x = " in text and "lhs = " in text and "rhs = " in text
    assert "additive constant" in text and "did you mean  = x**2 + 2*x + 1" in text


MODULE = '''
import sympy as sp
from deriv.model import Derivation
x = sp.Symbol("x", real=True)
d = Derivation("fixture/square", "a square", source="notes.md", domain={x: (-3, 3)})
d.start(3, (x + 1)**2)
d.eq(4, x**2 + 2*x + 1)
d.eq(5, x**2 + 2*x - 1, expect="refuted", note="lost the constant", corrected=x**2 + 2*x + 1)
d.limit(6, x, 0, 2)
'''


def test_report_and_json_carry_the_diagnosis(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path / "cache"))
    module = tmp_path / "fixture.py"
    module.write_text(MODULE)
    out = tmp_path / "r.json"
    code = main(["verify", str(module), "--json", str(out), "-j", "1"])
    printed = capsys.readouterr().out
    assert code == 1  # the limit of line 6 is wrong (x**2+2x-1 → -1 at 0), and not expected
    steps = json.loads(out.read_text())["derivations"][0]["steps"]
    refuted = [s for s in steps if s["status"] == "refuted"]
    assert [s["line"] for s in refuted] == [5, 6]
    constant, limit = (s["diagnosis"] for s in refuted)
    assert constant["kind"] == "constant" and constant["suggestion"]["status"] == "proved"
    assert limit["kind"] == "limit" and limit["suggestion"]["rhs"] == "-1"  # from line 5 as written
    assert "did you mean" in printed and "additive constant" in printed
    assert "not holding: fixture/square:6" in " ".join(printed.split())


def test_a_dropped_term_is_restored():
    r = sp.Symbol("r", real=True)
    dom = {r: (-3, 3)}
    d = _diagnosis((r + 1) ** 2, r**2 + 1, domain=dom)
    assert d["kind"] == "term" and d["residual"] == "2*r"
    assert d["suggestion"]["status"] == "proved" and "restore the dropped term 2*r" == d["suggestion"]["edit"]


def test_public_names_survive_importing_every_module():
    # deriv's names are imported lazily; no submodule may shadow one (deriv.diagnose is a function)
    import importlib
    import pkgutil

    import deriv

    for module in pkgutil.iter_modules(deriv.__path__):
        if module.name not in ("__main__", "pytest_plugin"):
            importlib.import_module(f"deriv.{module.name}")
    for name in deriv.__all__:
        if name != "__version__":
            assert not isinstance(getattr(deriv, name), type(deriv)), name
    assert callable(deriv.diagnose) and callable(deriv.check)
