"""Certified counterexamples (deriv.certify): interval enclosures that contain the true value, and
a certificate on every refutation that claims only what interval arithmetic showed."""
import time

import mpmath
import pytest
import sympy as sp

from deriv import Status, check, check_limit
from deriv.certify import LIMIT_REASON, Singular, Unsupported, certify, enclose
from deriv.explain import evidence_lines
from deriv.prob import CE, H, KL, Table, variables
from deriv.probcheck import check_prob_step

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
t = sp.Symbol("t", real=True)
m = sp.Symbol("m", positive=True)

ENCLOSED = {
    "exp-log-rational": sp.exp(x) * sp.log(1 + x**2) / (y**2 + 1),
    "trig": sp.sin(3 * x) + sp.cos(y) * sp.tan(x) - sp.sin(1000 * x),
    "hyperbolic-atan": sp.sinh(x) * sp.cosh(y) + sp.tanh(x - y) + sp.atan(5 * y),
    "asin-acos-floor": sp.asin(x / 4) * sp.acos(y / 5) + sp.floor(3 * x) - sp.ceiling(y),
    "powers": sp.sqrt(x**2 + 2) ** 3 - (x**2 + 1) ** sp.Rational(3, 2) + (y**2 + 1) ** sp.Float(0.37) + x**-3,
    "symbolic-exponent": (x**2 + 1) ** y + sp.Integer(2) ** x,
    "constants": sp.pi * sp.E * x + sp.EulerGamma - sp.Catalan * sp.GoldenRatio + sp.Rational(1, 3),
    "exact-float": sp.Float("0.1", 40) * x + sp.Float(1e-300) * y,
    "abs-max-min": sp.Abs(y) + sp.Max(x, y, sp.Rational(1, 7)) + sp.Min(x, y, 0),
    "piecewise-delta-sign": sp.Piecewise((x, y > 0), (2 * x, True)) + sp.KroneckerDelta(2, 3)
    + sp.sign(y) + sp.Heaviside(x - y),
    "cancellation": (x + 1) ** 20 - sp.expand((x + 1) ** 20) + sp.exp(x) - 1 - x,
    "logsumexp-softmax": sp.log(sp.exp(x) + sp.exp(y)) - sp.exp(x) / (sp.exp(x) + sp.exp(y)),
    "derivative": sp.Derivative(sp.exp(x * y) / (1 + x**2), x),
    "finite-sum": sp.Sum(sp.sin(t * x) / t**2, (t, 1, 12)),
}
POINTS = [{x: 0.3, y: -1.7}, {x: 2.9, y: 0.01}, {x: -1.25, y: 2.5}, {x: 1e-9, y: 3.75}]
CANCELLING = {"cancellation"}  # terms far larger than the value: the enclosure is correspondingly wider


def _bounds(box):
    """The two endpoints of an mpmath.iv interval as exact mpf values."""
    lo, hi = box._mpi_
    return mpmath.mp.make_mpf(lo), mpmath.mp.make_mpf(hi)


def _parse(shown: str):
    """"[a, b]" from a certificate, at 50 digits (its bounds are printed rounded outward)."""
    with mpmath.workdps(50):
        lo, hi = (mpmath.mpf(v) for v in shown.strip("[]").split(", "))
    return lo, hi


def _inside(value, shown: str, slack=mpmath.mpf(10) ** -22) -> bool:
    """value (a 25-digit string of the verdict) lies in the printed interval, up to its rounding."""
    lo, hi = _parse(shown)
    with mpmath.workdps(50):
        v = mpmath.mpf(value)
        return lo - abs(lo) * slack <= v <= hi + abs(hi) * slack


def _true_value(expr, point, dps=50):
    """The value at `point` (floats taken exactly) by mpmath at `dps` digits."""
    from deriv.lowering import prepare

    expr = prepare(expr)
    args = sorted(expr.free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(args, expr, modules="mpmath")
    with mpmath.workdps(dps):
        return fn(*[mpmath.mpf(point[a]) for a in args])


@pytest.mark.parametrize("name", list(ENCLOSED))
@pytest.mark.parametrize("bits", [64, 128, 256])
def test_enclosure_contains_the_true_value_and_is_narrow(name, bits):
    expr = ENCLOSED[name]
    for point in POINTS:
        box = enclose(expr, point, bits)
        true = _true_value(expr, point, dps=max(50, bits // 3 + 30))  # far more digits than the box
        lo, hi = _bounds(box)
        with mpmath.workdps(80):
            assert lo <= true <= hi, (name, point, box, true)
            # narrow (a meaningful enclosure, not [-inf, inf]): about 2^-(bits - 24) of the value's
            # size, or 2^-(bits - 48) where the expression cancels terms ~1e12 times larger
            slack = 48 if name in CANCELLING else 24
            assert hi - lo <= mpmath.mpf(2) ** -(bits - slack) * max(1, abs(true)), (name, point, box)


def test_point_coordinates_and_floats_are_exact():
    # the float 0.1 is 0.1000000000000000055511151231257827...: an exact degenerate interval
    lo, hi = _bounds(enclose(x, {x: 0.1}, 64))
    assert lo == hi == mpmath.mpf(0.1)
    big = sp.Float("0.1", 100)  # more bits than the working precision: still its exact binary value
    lo, hi = _bounds(enclose(big, {}, 64))
    assert lo == hi and lo._mpf_ == big._mpf_
    lo, hi = _bounds(enclose(sp.Rational(1, 3), {}, 64))  # a Rational: rounded outward
    with mpmath.workdps(50):
        assert lo < mpmath.mpf(1) / 3 < hi


def test_log_or_division_at_an_interval_containing_zero_raises_not_a_bogus_enclosure():
    with pytest.raises(Singular, match="log"):
        enclose(sp.log(x), {x: 0.0})
    # sin² + cos² − 1 is enclosed by an interval around 0 (both signs): its log has no bounded enclosure
    with pytest.raises(Singular, match="log"):
        enclose(sp.log(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1), {x: 0.7}, 64)
    with pytest.raises(Singular, match="division"):
        enclose(1 / (sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1), {x: 0.7}, 128)
    with pytest.raises(Singular, match="sqrt"):
        enclose(sp.sqrt(x), {x: -1.0})
    with pytest.raises(Singular, match="tan"):
        enclose(sp.tan(2 * sp.atan(x)), {x: 1.0})  # 2 atan(1) = pi/2: cos may vanish
    # the certificate reports it, it does not claim anything
    c = certify(sp.log(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1), sp.Integer(0), "eq", {"x": 0.7})
    assert c["certified"] is False and "log" in c["reason"]


def test_unsupported_constructs_raise_with_the_construct_named():
    with pytest.raises(Unsupported, match="integral"):
        enclose(sp.Integral(x * t, (t, 0, 1)), {x: 0.5})
    with pytest.raises(Unsupported, match="gamma"):
        enclose(sp.gamma(x + 3), {x: 0.5})
    with pytest.raises(Unsupported, match="no value for the symbol y"):
        enclose(x + y, {x: 0.5})
    with pytest.raises(Unsupported, match="undefined function f"):
        enclose(sp.Function("f")(x), {x: 0.5})


@pytest.mark.parametrize("lhs, rhs, relation, point", [
    (x**2, x**2, "eq", {"x": 0.3}),                         # equal: nothing to certify
    (sp.exp(2 * x), sp.exp(x) ** 2, "eq", {"x": 0.3}),      # equal, not exactly computed
    (x, x + 1, "le", {"x": 0.3}),                           # the relation holds
    (sp.exp(x), 1 + x, "ge", {"x": -2.0}),
    (sp.exp(x), 1 + x, "le", {"x": 0.0}),                   # lhs = rhs: le holds (not > 0)
    (sp.exp(2 * x), sp.exp(x) ** 2, "lt", {"x": 0.3}),      # equal sides: ≥ 0 is not shown
    (x + y, y, "const", {"x": 0.5, "y": 1.0}),              # constant in y
])
def test_a_relation_that_holds_is_never_certified_as_failing(lhs, rhs, relation, point):
    second = {"x": 0.5, "y": -2.0} if relation == "const" else None
    c = certify(lhs, rhs, relation, point, second=second)
    assert c["certified"] is False, c
    assert c["reason"]


def test_refuted_eq_step_carries_a_certificate():
    v = check((x + 1) ** 2, x**2 + 2 * x - 1, domain={x: (-3, 3)})
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    assert cert["certified"] is True and cert["excludes"] == "0"
    assert cert["method"].startswith("interval arithmetic (mpmath.iv, ")
    # the enclosure is of lhs − rhs = 2 at the counterexample, and so contains the 50-digit values
    lo, hi = _parse(cert["difference"])
    assert lo <= 2 <= hi and lo > 0
    assert _inside(v.evidence["lhs_value"], cert["lhs"]) and _inside(v.evidence["rhs_value"], cert["rhs"])


def test_refuted_le_ge_steps_carry_a_certificate_of_the_failing_direction():
    v = check(sp.exp(x), 1 + x, "le", domain={x: (-3, 3)})
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    assert cert["certified"] is True and cert["excludes"] == "the relation"
    assert "> 0, so lhs ≤ rhs fails" in cert["statement"]
    assert _parse(cert["difference"])[0] > 0
    v = check(sp.log(1 + x), x, "ge", domain={x: (0.1, 3)})
    assert v.status == Status.REFUTED and v.evidence["certificate"]["certified"] is True
    assert "< 0, so lhs ≥ rhs fails" in v.evidence["certificate"]["statement"]


def test_refuted_const_step_is_certified_between_its_two_points():
    v = check(x**2 * y, x**2, "const", wrt=[y], domain={x: (1, 3), y: (-3, 3)})
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    assert cert["certified"] is True
    assert cert["quantity"] == "(lhs − rhs)(P1) − (lhs − rhs)(P2)"
    # the two enclosures contain the two 50-digit values of lhs − rhs the verdict reports
    assert _inside(v.evidence["difference_at_first"], cert["lhs"])
    assert _inside(v.evidence["difference_at_second"], cert["rhs"])


def test_refuted_step_over_distributions_is_certified_on_the_instance():
    xs, = variables("xc")
    p = Table("p_cert", xs, data=True)
    q = Table("q_cert", xs)
    v = check_prob_step(CE(p(xs), q(xs), xs), -KL(p(xs), q(xs), xs) + H(p(xs), xs), "eq")
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    assert cert["certified"] is True, cert
    # the counterexample is a point in the instance's logits; the enclosure holds the 50-digit sides
    assert all(name.startswith("a_") for name in v.counterexample)
    assert _inside(v.evidence["lhs_value"], cert["lhs"]) and _inside(v.evidence["rhs_value"], cert["rhs"])
    w = check_prob_step(CE(p(xs), q(xs), xs), -KL(p(xs), q(xs), xs), "const")
    assert w.status == Status.REFUTED and w.evidence["certificate"]["certified"] is True


def test_difference_below_float_resolution_is_certified_at_a_higher_precision():
    # the sides differ by 1e-25 (relative ~1e-26): float64 agrees, 50/80 digits refute; 64-bit
    # intervals (~19 digits) cannot separate them, more bits can
    lhs, rhs = (x + 1) ** 2, x**2 + 2 * x + 1 + sp.Rational(1, 10**25)
    v = check(lhs, rhs, domain={x: (1, 3)})
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    assert cert["certified"] is True and cert["bits"] >= 128, cert
    at_64 = certify(lhs, rhs, "eq", v.counterexample, precisions=(64,))
    assert at_64["certified"] is False and "does not show" in at_64["reason"]
    # huge sides: 1 on top of ~1e63 needs more than 210 bits
    v = check(m**40 + 1, m**40, domain={m: (30, 40)})
    assert v.status == Status.REFUTED
    assert v.evidence["certificate"]["certified"] is True and v.evidence["certificate"]["bits"] >= 256
    # relative 1e-12 through transcendental functions
    v = check(sp.exp(x) * sp.log(x), sp.exp(x) * sp.log(x) * (1 + sp.Rational(1, 10**12)), domain={x: (2, 3)})
    assert v.status == Status.REFUTED and v.evidence["certificate"]["certified"] is True


def test_integral_is_not_certified_and_the_verdict_stays_refuted():
    v = check(sp.Integral(x * t, (t, 0, 1)), x, domain={x: (1, 3)})
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    assert cert["certified"] is False and "integral" in cert["reason"]
    lines = evidence_lines(v)
    assert any(line.startswith("not certified: no interval enclosure for an integral") for line in lines)


def test_limit_refutation_is_not_certified():
    v = check_limit(sp.sin(m) / m, m, 0, 2)
    assert v.status == Status.REFUTED
    assert dict(v.evidence["certificate"]) == {"certified": False, "reason": LIMIT_REASON}


def test_strict_inequality_refuted_by_an_identity_says_what_the_refutation_rests_on():
    v = check(sp.exp(2 * x), sp.exp(x) ** 2, "lt", domain={x: (-2, 2)})
    assert v.status == Status.REFUTED
    cert = v.evidence["certificate"]
    if cert["certified"]:  # only an exact enclosure [0, 0] could show lhs − rhs ≥ 0
        assert cert["difference"] == "[0, 0]"
    else:
        assert "rests on the symbolic proof" in cert["reason"]
    # polynomial sides of floats are computed exactly at 128 bits: [0, 0] certifies lhs < rhs fails
    v = check((x + 1) ** 2, x**2 + 2 * x + 1, "lt", domain={x: (-3, 3)})
    assert v.status == Status.REFUTED
    assert v.evidence["certificate"]["certified"] is True
    assert v.evidence["certificate"]["difference"] == "[0, 0]"


def test_large_expressions_and_time_budget_are_reported_not_certified():
    big = sum(sp.exp(sp.Symbol(f"v{i}", real=True) * x) for i in range(300))
    point = {"x": 0.5, **{f"v{i}": 0.25 for i in range(300)}}
    c = certify(big, big + 1, "eq", point, max_nodes=100)
    assert c["certified"] is False and "too large" in c["reason"]
    c = certify(big, big + 1, "eq", point, seconds=0.001)
    assert c["certified"] is False and "did not finish" in c["reason"]
    started = time.monotonic()
    c = certify(big, big + 1, "eq", point)
    assert c["certified"] is True and time.monotonic() - started < 30


def test_explain_and_json_show_the_certificate():
    from deriv.report import step_json
    from deriv.runner import StepResult

    v = check((x + 1) ** 2, x**2 + 2 * x - 1, domain={x: (-3, 3)})
    line = next(line for line in evidence_lines(v) if line.startswith("certified: "))
    assert "lhs − rhs ∈ [" in line and "bits)" in line
    row = step_json(StepResult(index=1, line=None, relation="eq", kind="relation", expected=None,
                               correction_of=None, note="", lhs="lhs", rhs="rhs", verdict=v))
    assert row["certificate"]["certified"] is True
    assert row["certificate"] == row["evidence"]["certificate"]


def test_every_expected_refutation_of_cross_entropy_and_gmm_is_certified(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path))
    from deriv import runner

    found, failures = runner.collect([runner.bundled_path() / "cross_entropy.py",
                                      runner.bundled_path() / "gmm.py"])
    assert not failures
    refuted = 0
    for _path, derivation in found:
        for step in derivation.steps:
            if step.expect != "refuted":
                continue
            verdict, cached = runner.check_step(step, derivation, cache=None)
            assert verdict.status == Status.REFUTED and not cached
            cert = verdict.evidence["certificate"]
            assert cert["certified"] is True, (derivation.id, step.line, cert)
            refuted += 1
    assert refuted == 5  # lines 86, 93, 104, 168, 178
