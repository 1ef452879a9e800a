"""`deriv mutate` (deriv.mutate): the operators, the outcome of each mutant, the command line.

The fixture module tests/fixtures/mutate/small.py holds true steps of every kind (an identity
with several terms, a KL identity over distributions, a limit, a const step, an inequality);
every one of their mutants must be killed or proved equivalent.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp

from deriv import mutate
from deriv.model import Derivation, Step
from deriv.prob import CE, H, KL, S, Table, variables

FIXTURE = Path(__file__).parent / "fixtures" / "mutate" / "small.py"
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)
(k,) = variables("k")
p = Table("p_mut", k)
q = Table("q_mut", k)


def rhs_of(mutants, operator):
    return [m.rhs for m in mutants if m.operator == operator]


def relation_step(lhs, relation, rhs, **extra) -> Step:
    return Step(index=1, line=1, kind="relation", relation=relation, lhs=sp.sympify(lhs), rhs=sp.sympify(rhs),
                **extra)


# -- the operators ----------------------------------------------------------------------------------

def test_term_operators_flip_scale_and_drop_each_term():
    rhs = x**2 + 2*x + 1
    mutants = mutate.term_mutants(rhs, "eq")
    assert len(mutants) == 12  # 3 terms × 4 operators
    assert set(rhs_of(mutants, "negate-term")) == {-x**2 + 2*x + 1, x**2 - 2*x + 1, x**2 + 2*x - 1}
    assert set(rhs_of(mutants, "double-term")) == {2*x**2 + 2*x + 1, x**2 + 4*x + 1, x**2 + 2*x + 2}
    assert set(rhs_of(mutants, "halve-term")) == {x**2/2 + 2*x + 1, x**2 + x + 1, x**2 + 2*x + sp.Rational(1, 2)}
    assert set(rhs_of(mutants, "drop-term")) == {2*x + 1, x**2 + 1, x**2 + 2*x}
    assert all(m.relation == "eq" for m in mutants)


def test_term_operators_reach_the_sum_inside_a_sigma_but_not_its_limits():
    rhs = S(p(k) * (sp.log(q(k)) - sp.log(p(k))), k)
    flipped = rhs_of(mutate.term_mutants(rhs, "eq"), "negate-term")
    assert S(p(k) * (sp.log(q(k)) + sp.log(p(k))), k) in flipped
    assert S(p(k) * (-sp.log(q(k)) - sp.log(p(k))), k) in flipped
    assert len(flipped) == 2  # N_k - 1 in the limits is not a term


def test_a_single_term_is_negated_doubled_and_halved_and_zero_has_no_term():
    kl = KL(p(k), q(k), k)
    mutants = mutate.term_mutants(kl, "eq")
    assert {m.operator: m.rhs for m in mutants} == {"negate-term": -kl, "double-term": 2*kl, "halve-term": kl/2}
    assert mutate.term_mutants(sp.Integer(0), "le") == []


def test_swap_the_arguments_of_kl_and_cross_entropy_one_occurrence_at_a_time():
    kl, ce = KL(p(k), q(k), k), CE(p(k), q(k), k)
    swapped = rhs_of(mutate.swap_mutants(kl + ce, "eq"), "swap-kl")
    assert set(swapped) == {KL(q(k), p(k), k) + ce, kl + CE(q(k), p(k), k)}
    twice = kl * sp.exp(kl)  # the same KL twice: each occurrence is its own mutant
    assert set(rhs_of(mutate.swap_mutants(twice, "eq"), "swap-kl")) == {
        KL(q(k), p(k), k) * sp.exp(kl), kl * sp.exp(KL(q(k), p(k), k))}
    assert rhs_of(mutate.swap_mutants(KL(p(k), p(k), k), "eq"), "swap-kl") == [KL(p(k), p(k), k)]


def test_log_of_a_sum_from_a_sum_of_logs_and_from_the_log_of_a_product():
    a, b, c = sp.symbols("a b c", positive=True)
    assert rhs_of(mutate.log_mutants(sp.log(a) + sp.log(b) + c, "eq"), "log-of-sum") == [sp.log(a + b) + c]
    assert rhs_of(mutate.log_mutants(-sp.log(a) - sp.log(b), "eq"), "log-of-sum") == [-sp.log(a + b)]
    assert rhs_of(mutate.log_mutants(sp.log(a) - sp.log(b), "eq"), "log-of-sum") == []  # no pair
    assert rhs_of(mutate.log_mutants(c * sp.log(a * b), "eq"), "log-product-to-sum") == [c * sp.log(a + b)]


def test_constants_an_identity_gets_one_and_a_small_one_a_const_step_none():
    assert mutate.small_constant(0.37) == sp.Rational(1, 10**7)
    assert mutate.small_constant(250.0) == sp.Rational(1, 10**4)
    assert mutate.small_constant(None) == mutate.small_constant(0.0) == sp.Rational(1, 10**6)
    eq = mutate.constant_mutants(relation_step(x, "eq", x), 3.0)
    assert {m.operator: m.rhs for m in eq} == {"add-one": x + 1, "add-small": x + sp.Rational(1, 10**6)}
    assert mutate.constant_mutants(relation_step(x, "const", x, wrt=(x,)), 3.0) == []


def test_an_inequality_gets_only_stronger_claims():
    le = {m.operator: (m.relation, m.rhs) for m in mutate.constant_mutants(relation_step(0, "le", x), 0.5)}
    assert le == {"tighten-one": ("le", x - 1), "tighten-small": ("le", x - sp.Rational(1, 10**7))}
    ge = {m.operator: (m.relation, m.rhs) for m in mutate.constant_mutants(relation_step(0, "ge", x), 0.5)}
    assert ge == {"tighten-one": ("ge", x + 1), "tighten-small": ("ge", x + sp.Rational(1, 10**7))}
    reverse = [m for m in mutate.structural_mutants(relation_step(0, "le", x)) if m.operator == "reverse"]
    assert [(m.relation, m.rhs) for m in reverse] == [("ge", x)]

    # log t ≤ t − 1: term edits are kept where they are false at a probe point, the others left out
    step = relation_step(sp.log(t), "le", t - 1)
    plan = mutate.plan_mutants(step, Derivation("test/bound", domain={t: (0.1, 5)}))
    kept = {(m.operator, m.rhs) for m in plan.mutants}
    assert {("negate-term", -t - 1), ("halve-term", t/2 - 1), ("drop-term", sp.Integer(-1))} <= kept
    assert ("double-term", 2*t - 1) not in kept and ("negate-term", t + 1) not in kept
    assert any(o["operator"] == "double-term" and "holds at every probe point" in o["why"] for o in plan.left_out)
    # doubling the −1 is lowering the bound by 1: one mutant, the designed one
    assert [m.operator for m in plan.mutants if m.rhs == t - 2] == ["tighten-one"]
    full = mutate.candidates(step, plan.scale)  # what a worker rebuilds from the position
    assert [full[i] for i in plan.positions] == plan.mutants


def test_limit_values_shift_by_one_and_by_a_thousandth():
    step = Step(index=1, line=1, kind="limit", relation="limit", lhs=sp.sin(x) / x, rhs=sp.Integer(1), var=x,
                point=sp.Integer(0))
    assert {m.operator: m.rhs for m in mutate.structural_mutants(step)} == {
        "limit-plus-one": 2, "limit-plus-small": sp.Rational(1001, 1000)}


def test_the_sample_of_max_per_step_is_seeded_and_ordered():
    plan = mutate.StepPlan(0, 3, 1, "eq", "relation", "", "", "proved", "", True,
                           mutants=[{"number": i} for i in range(10)])
    first = mutate.choose(plan, "some/derivation", 4, seed=0)
    assert first == mutate.choose(plan, "some/derivation", 4, seed=0) == sorted(first)
    assert len(first) == 4 and set(first) <= set(range(10))
    assert {tuple(mutate.choose(plan, "some/derivation", 4, seed=s)) for s in range(8)} != {tuple(first)}
    assert mutate.choose(plan, "some/derivation", None, seed=0) == list(range(10))


# -- outcomes -------------------------------------------------------------------------------------

def test_an_equivalent_mutant_is_reported_with_its_proof(tmp_path, monkeypatch):
    """H(p) + KL(p‖p): swapping the arguments of KL(p, p) changes nothing, and deriv proves it."""
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path))
    from deriv.cache import VerdictCache

    step = relation_step(H(p(k), k), "eq", H(p(k), k) + KL(p(k), p(k), k))
    derivation = Derivation("test/self-kl")
    (swap,) = [m for m in mutate.structural_mutants(step) if m.operator == "swap-kl"]
    cache = mutate.MutantCache(VerdictCache(tmp_path))
    outcome, verdict, _, proof = mutate.classify(step, derivation, swap, cache, None, None)
    assert outcome == "equivalent"
    assert verdict.status.value in ("proved", "numeric")
    assert proof["claim"] == "rhs' ≡ rhs" and proof["status"] == "proved" and proof["method"]
    # the diagnosis switch is restored after checking
    from deriv import runner
    assert runner.diagnose_step is not mutate._no_diagnosis


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DERIV_CACHE_DIR", str(cache))
        result = mutate.run([FIXTURE], jobs=2)
    return result, cache


def test_every_mutant_of_the_fixture_is_killed_or_equivalent(fixture_run):
    result, _ = fixture_run
    summary = result.summary()
    assert summary["steps_mutated"] == summary["steps"] == 5
    assert summary["survived"] == 0 and summary["invalid"] == 0, [
        (r.description, r.status, r.detail) for r in result.results() if r.outcome in ("survived", "invalid")]
    assert summary["kill_rate"] == 1.0
    assert summary["killed"] + summary["equivalent"] == summary["mutants"] >= 35
    by_id = {d.id: d for d in result.derivations}
    operators = {r.operator for r in result.results()}
    assert {"negate-term", "double-term", "halve-term", "drop-term", "add-one", "add-small", "swap-kl",
            "reverse", "tighten-small", "limit-plus-one", "limit-plus-small"} <= operators
    # the const step's edits of its constant term log(2) are equivalent, each with its proof
    equivalent = [r for r in by_id["small/const"].results if r.outcome == "equivalent"]
    assert len(equivalent) == 4 and all("log(2)" in r.description for r in equivalent)
    assert all(r.proof["status"] == "proved" and "constant" in r.proof["claim"] for r in equivalent)
    for r in result.results():
        if r.outcome == "killed":
            assert r.status == "refuted" and r.counterexample is not None or r.operator.startswith("limit")


def test_mutant_verdicts_are_cached_apart_from_the_steps(fixture_run):
    result, cache = fixture_run
    shared = [f for f in cache.glob("*/*.json")]
    own = list((cache / "mutants").glob("*/*.json"))
    assert len(shared) == result.summary()["steps"]  # only the steps themselves, as verify caches them
    assert len(own) >= result.summary()["mutants"] - 1  # every mutant (one may coincide with another's claim)


# -- the command line -----------------------------------------------------------------------------

def deriv(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "deriv", "mutate", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "160", **(env or {})})


LOOSE = """
import sympy as sp
from deriv import Derivation
x = sp.Symbol("x", real=True)
d = Derivation("loose/bound", "x² + 1 ≥ 0 holds with room to spare", source="demo.md")
d.start(1, x**2 + 1).ge(1, 0)
r = Derivation("loose/root", "a square root on (2, 5)", source="demo.md", domain={x: (2, 5)})
r.start(2, sp.sqrt(x**2 + 1)).eq(2, sp.sqrt(x**2 + 1))
"""


def test_survivors_and_invalid_mutants_are_listed_and_a_survivor_fails_the_run(tmp_path):
    """x² + 1 ≥ 0 tightened by 1 is x² + 1 ≥ 1: still true, so it survives (a mutant too weak for a
    bound with room to spare) while the reversed bound is killed; sqrt(1 − x²) is not real on
    (2, 5): invalid, not killed."""
    (tmp_path / "loose.py").write_text(textwrap.dedent(LOOSE))
    out = deriv("loose.py", "--json", "m.json", "-j", "2", cwd=tmp_path, env={"DERIV_CACHE_DIR": str(tmp_path / "c")})
    assert out.returncode == 1, out.stderr
    assert "SURVIVORS (2)" in out.stdout and "[tighten-one]" in out.stdout and "[tighten-small]" in out.stdout
    assert "Invalid mutants (1)" in out.stdout and "not real-valued" in out.stdout
    data = json.loads((tmp_path / "m.json").read_text())
    bound, root = data["derivations"]
    assert bound["survived"] == 2 and bound["killed"] == 1 and bound["kill_rate"] == round(1 / 3, 4)
    outcomes = {m["operator"]: (m["outcome"], m["status"]) for m in bound["steps"][0]["mutants"]}
    assert outcomes["reverse"] == ("killed", "refuted")
    assert outcomes["tighten-one"][0] == "survived" and outcomes["tighten-one"][1] in ("proved", "numeric")
    (invalid,) = [m for m in root["steps"][0]["mutants"] if m["outcome"] == "invalid"]
    assert invalid["rhs"] == str(sp.sqrt(1 - x**2)) and "not real-valued" in invalid["reason"]
    assert root["survived"] == 0 and root["killed"] == root["mutants"] - 1
    assert data["summary"]["invalid"] == 1 and data["summary"]["survived"] == 2


def test_usage_errors_exit_2(capsys):
    from deriv.cli import main

    assert main(["mutate", "no/such/file.py"]) == 2
    assert main(["mutate", str(FIXTURE), "--jobs", "0"]) == 2
    assert main(["mutate", str(FIXTURE), "--max-per-step", "0"]) == 2
    assert main(["mutate", str(FIXTURE), "-k", "no-such-derivation"]) == 2
    assert "no derivation matches" in capsys.readouterr().err


def test_a_bundled_derivation_with_a_sample_of_two_mutants_per_step(tmp_path):
    out = deriv("-k", "max-entropy/family", "--max-per-step", "2", "--seed", "1", "--json", "m.json", "-j", "2",
                cwd=tmp_path, env={"DERIV_CACHE_DIR": str(tmp_path / "c")})
    data = json.loads((tmp_path / "m.json").read_text())
    assert [d["id"] for d in data["derivations"]] == ["max-entropy/family"]
    steps = data["derivations"][0]["steps"]
    assert steps and all(s["mutated"] and s["mutants_made"] > 2 and len(s["mutants"]) == 2 for s in steps)
    summary = data["summary"]
    assert summary["mutants"] == 2 * len(steps)
    assert summary["survived"] == 0 and out.returncode == 0, out.stdout
    assert summary["killed"] + summary["equivalent"] + summary["invalid"] == summary["mutants"]
