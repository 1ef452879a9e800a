"""Known sympy traps (issue "Soundness under attack", part 4).

sympy's own `simplify`, `equals`, log expansion, `integrate` and `limit` are wrong or undecided in
the cases below (each from sympy's issue tracker, read for this file). deriv uses sympy for its
proofs, so each case is a regression test that deriv does not inherit the mistake:

* a false identity is never `proved`; it is `refuted` with a counterexample wherever deriv's
  domain (real sampling intervals, DESIGN §6) contains one, else `numeric`/`unknown`;
* the true identity under the right assumptions is `proved` or `numeric`;
* where sympy's `equals` says False (or None) for equal expressions, deriv does not refute them.

Every counterexample deriv reports is recomputed here with mpmath at 60 digits (`confirm`), so a
test cannot pass on a refutation that is itself wrong.
"""
import mpmath
import pytest
import sympy as sp

from deriv import Status, check, check_limit

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
t = sp.Symbol("t", real=True)
a = sp.Symbol("a", real=True)
z = sp.Symbol("z")  # no assumptions: sympy treats it as complex
w = sp.Symbol("w")
xp = sp.Symbol("x", positive=True)
yp = sp.Symbol("y", positive=True)
ap = sp.Symbol("a", positive=True)
eps = sp.Symbol("eps", real=True)

TIMEOUT = 30
SAMPLED_OK = (Status.PROVED, Status.NUMERIC)


def confirm(lhs, rhs, counterexample, dps=60):
    """Recompute both sides at the counterexample with mpmath: both finite, and really different."""
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    symbols = sorted(lhs.free_symbols | rhs.free_symbols, key=lambda s: s.name)
    assert {s.name for s in symbols} == set(counterexample), (symbols, dict(counterexample))
    with mpmath.workdps(dps):
        point = [mpmath.mpf(counterexample[s.name]) for s in symbols]
        L = mpmath.mpmathify(sp.lambdify(symbols, lhs, "mpmath")(*point))
        R = mpmath.mpmathify(sp.lambdify(symbols, rhs, "mpmath")(*point))
        assert mpmath.isfinite(L) and mpmath.isfinite(R), (L, R)
        gap = abs(L - R)
        assert gap > mpmath.mpf(10) ** -30 * max(abs(L), abs(R), 1), (L, R)
    return L, R


def assert_refuted(verdict, lhs, rhs):
    assert verdict.status == Status.REFUTED, verdict
    assert verdict.counterexample is not None, verdict
    return confirm(lhs, rhs, verdict.counterexample)


# -- #11835 and #24676: log(x) + log(1/x) = 0 only for positive x -------------------------------
# https://github.com/sympy/sympy/issues/11835 : simplify(log(x) + log(1/x)) stays as it is;
# "logs only combine under the proper assumptions" -- it is 2*pi*I for x < 0.
# https://github.com/sympy/sympy/issues/24676 : the same for x complex, plus asin + acos written
# with logs, which *is* pi/2 for every complex x (the two logs combine to log(I)).

def test_11835_log_x_plus_log_inverse_x_is_refuted_for_real_x():
    lhs = sp.log(x) + sp.log(1 / x)
    v = check(lhs, 0, timeout=TIMEOUT)
    L, _ = assert_refuted(v, lhs, 0)
    # the only counterexamples are negative x, where the sum is 2*pi*I
    assert v.counterexample["x"] < 0
    with mpmath.workdps(60):
        assert abs(L - 2j * mpmath.pi) < 1e-40, L


def test_24676_log_z_plus_log_inverse_z_is_refuted_for_complex_z():
    # deriv samples z on a real interval; z < 0 is a counterexample for complex z as well
    lhs = sp.log(z) + sp.log(1 / z)
    v = check(lhs, 0, timeout=TIMEOUT)
    assert_refuted(v, lhs, 0)
    assert v.counterexample["z"] < 0


def test_11835_logcombine_force_result_is_refuted():
    # logcombine(..., force=True) combines anyway: log(x) + log(1/x) -> log(1) = 0
    lhs = sp.log(x) + sp.log(1 / x)
    forced = sp.logcombine(lhs, force=True)
    v = check(lhs, forced, timeout=TIMEOUT)
    assert_refuted(v, lhs, forced)


def test_11835_the_positive_version_is_proved():
    v = check(sp.log(xp) + sp.log(1 / xp), 0, timeout=TIMEOUT)
    assert v.status == Status.PROVED, v


def test_24676_asin_plus_acos_written_with_logs_is_never_refuted():
    # -I*log(I*x + sqrt(1 - x**2)) and -I*log(x + I*sqrt(1 - x**2)) are the principal asin and acos
    # for every complex x; their sum is pi/2, on the real line too (complex-valued for |x| > 1).
    # sympy's simplify cannot combine the logs; deriv must not refute the identity: proved or numeric.
    asin_ = -sp.I * sp.log(sp.I * x + sp.sqrt(1 - x * x))
    acos_ = -sp.I * sp.log(x + sp.I * sp.sqrt(1 - x * x))
    v = check(asin_ + acos_, sp.pi / 2, domain={x: (-3, 3)}, timeout=TIMEOUT)
    assert v.status in SAMPLED_OK, v


# -- log(x*y) = log x + log y, sqrt(x**2) = x, expand_log(force=True) -------------------------------

@pytest.mark.parametrize("p, q", [(x, y), (z, w)], ids=["real", "complex"])
def test_log_of_product_split_is_refuted_off_the_positive_reals(p, q):
    lhs, rhs = sp.log(p * q), sp.log(p) + sp.log(q)
    v = check(lhs, rhs, timeout=TIMEOUT)
    assert_refuted(v, lhs, rhs)
    # log(pq) = log p + log q fails exactly when both are negative (the args add up past pi)
    assert v.counterexample[p.name] < 0 and v.counterexample[q.name] < 0


def test_expand_log_force_result_is_refuted_for_real_symbols():
    lhs = sp.log(x**2 * y)
    forced = sp.expand_log(lhs, force=True)  # 2*log(x) + log(y)
    assert forced != lhs
    v = check(lhs, forced, timeout=TIMEOUT)
    assert_refuted(v, lhs, forced)
    assert v.counterexample["x"] < 0 or v.counterexample["y"] < 0


def test_logcombine_force_of_a_sum_is_refuted_for_real_symbols():
    lhs = sp.log(x) + sp.log(y)
    forced = sp.logcombine(lhs, force=True)  # log(x*y)
    v = check(lhs, forced, timeout=TIMEOUT)
    assert_refuted(v, lhs, forced)


@pytest.mark.parametrize("s", [x, z], ids=["real", "complex"])
def test_sqrt_of_square_is_refuted(s):
    v = check(sp.sqrt(s**2), s, timeout=TIMEOUT)
    assert_refuted(v, sp.sqrt(s**2), s)
    assert v.counterexample[s.name] < 0


def test_powdenest_force_result_is_refuted():
    forced = sp.powdenest(sp.sqrt(x**2), force=True)  # x
    v = check(sp.sqrt(x**2), forced, timeout=TIMEOUT)
    assert_refuted(v, sp.sqrt(x**2), forced)


def test_sqrt_of_product_is_refuted_where_both_sides_are_real():
    # sqrt(x - 1)*sqrt(x + 1) = sqrt(x**2 - 1) holds for x >= 1 and also for -1 < x < 1 (both sides
    # are I*sqrt(1 - x**2)); it fails only for x < -1, where both sides are real and of opposite sign
    lhs, rhs = sp.sqrt(x - 1) * sp.sqrt(x + 1), sp.sqrt(x**2 - 1)
    v = check(lhs, rhs, domain={x: (-3, 3)}, timeout=TIMEOUT)
    L, R = assert_refuted(v, lhs, rhs)
    assert v.counterexample["x"] < -1
    with mpmath.workdps(60):  # both sides real there, and opposite
        assert abs(mpmath.im(L)) < 1e-50 and abs(mpmath.im(R)) < 1e-50, (L, R)
        assert abs(L + R) < 1e-50 * abs(L), (L, R)


@pytest.mark.parametrize("lhs, rhs", [
    (sp.log(xp * yp), sp.log(xp) + sp.log(yp)),
    (sp.log(xp**2 * yp), 2 * sp.log(xp) + sp.log(yp)),
    (sp.sqrt(xp**2), xp),
    (sp.log(sp.exp(x)), x),
], ids=["log-product", "log-power", "sqrt-square", "log-exp-real"])
def test_the_true_versions_under_the_right_assumptions_are_proved(lhs, rhs):
    v = check(lhs, rhs, timeout=TIMEOUT)
    assert v.status == Status.PROVED, v


# -- log(exp(z)) = z only on the strip -pi < Im z <= pi ------------------------------------------
# sympy keeps log(exp(z)) for complex z (it is z - 2*pi*I*floor((Im z + pi)/(2*pi))), but
# expand_log(force=True) turns it into z (sympy PR #8548 / issue #6988).

def test_log_of_exp_is_refuted_off_the_principal_strip():
    # z = I*t with real t reaches the imaginary axis within deriv's real domain
    lhs = sp.log(sp.exp(sp.I * t))
    forced = sp.expand_log(lhs, force=True)
    assert forced == sp.I * t
    v = check(lhs, forced, domain={t: (-10, 10)}, timeout=TIMEOUT)
    assert_refuted(v, lhs, forced)
    assert abs(v.counterexample["t"]) > mpmath.pi  # on the strip |t| < pi it holds


def test_log_of_exp_on_the_principal_strip_is_not_refuted():
    v = check(sp.log(sp.exp(sp.I * t)), sp.I * t, domain={t: (-3, 3)}, timeout=TIMEOUT)
    assert v.status in SAMPLED_OK, v


def test_log_of_exp_of_a_complex_symbol_is_not_proved():
    # log(exp(z)) = z is false for complex z, but deriv's domain for z is a real interval, on
    # which it holds: it must not be proved (no symbolic rule justifies it for complex z), and
    # the sampled real points agree, so the verdict is `numeric` -- never `refuted` either.
    v = check(sp.log(sp.exp(z)), z, timeout=TIMEOUT)
    assert v.status == Status.NUMERIC, v


# -- #18719 and #27224: `equals` undecided ---------------------------------------------------------
# https://github.com/sympy/sympy/issues/18719 : (x*x).equals(x**2.0) is None (a Float exponent
# keeps x**2 - x**2.0 from cancelling), although every value agrees.
# https://github.com/sympy/sympy/issues/27224 : diff(x*sqrt(a**2 - x**2) + a**2*asin(x/a), x)
# .equals(2*sqrt(a**2 - x**2)) is None: equal for a > 0, opposite for a < 0.

@pytest.mark.parametrize("lhs, rhs", [
    (x * x, x**2.0),
    (xp * xp, xp**2.0),
    (2.0**x, 2**x),
], ids=["x*x-vs-x**2.0", "positive", "float-base"])
def test_18719_float_exponent_identity_is_not_refuted(lhs, rhs):
    v = check(lhs, rhs, timeout=TIMEOUT)
    assert v.status in SAMPLED_OK, v


def _27224_derivative(a_symbol):
    return sp.diff(x * sp.sqrt(a_symbol**2 - x**2) + a_symbol**2 * sp.asin(x / a_symbol), x)


def test_27224_derivative_identity_is_refuted_for_negative_a():
    lhs, rhs = _27224_derivative(a), 2 * sp.sqrt(a**2 - x**2)
    v = check(lhs, rhs, timeout=TIMEOUT)
    assert_refuted(v, lhs, rhs)
    assert v.counterexample["a"] < 0  # for a > 0 the identity holds for every real x


def test_27224_derivative_identity_holds_for_positive_a():
    lhs, rhs = _27224_derivative(ap), 2 * sp.sqrt(ap**2 - x**2)
    v = check(lhs, rhs, domain={ap: (2, 4), x: (-2, 2)}, timeout=TIMEOUT)
    assert v.status in SAMPLED_OK, v


# -- #29781: `equals` returns False for equal expressions -------------------------------------------
# https://github.com/sympy/sympy/issues/29781 : the larger eigenvalue of exp(M x), from its trace and
# determinant, equals exp(lambda_1 x) for M = [[1, 2], [3, 4]], x > 0; sympy's equals says False.

def test_29781_equal_expressions_that_equals_calls_different_are_not_refuted():
    X = sp.Symbol("x", positive=True)
    M = sp.Matrix([[1, 2], [3, 4]])
    P = (M * X).exp()
    ev_m = (M.trace() + sp.sqrt(M.trace()**2 - 4 * M.det())) / 2
    ev_p = (P.trace() + sp.sqrt(P.trace()**2 - 4 * P.det())) / 2
    v = check(ev_p, sp.exp(ev_m * X), domain={X: (0.01, 3)}, timeout=TIMEOUT)
    # the identity is true: proved if a rewrite closes it, else every sampled point agrees
    assert v.status in SAMPLED_OK, v


# -- #13850: an integral on the wrong branch of polylog ----------------------------------------------
# https://github.com/sympy/sympy/issues/13850 : integrate(log(x)/(1 + x), (x, 0, 1)) for x > 0 was
# pi**2/6 - polylog(2, 2) + I*pi*log(2) (imaginary part wrong; the true value is -pi**2/12), and the
# antiderivative I*pi*log(x + 1) - polylog(2, x + 1) is off by 2*pi*I/(x + 1) in its derivative.

INTEGRAL_13850 = sp.Integral(sp.log(xp) / (1 + xp), (xp, 0, 1))


def test_13850_the_issue_value_is_refuted():
    claimed = sp.pi**2 / 6 - sp.polylog(2, 2) + sp.I * sp.pi * sp.log(2)
    v = check(INTEGRAL_13850, claimed, timeout=TIMEOUT)
    assert v.status == Status.REFUTED, v  # no free symbols: the counterexample is the empty point
    assert v.evidence["lhs_value"] != v.evidence["rhs_value"]


def test_13850_the_true_value_is_not_refuted():
    v = check(INTEGRAL_13850, -sp.pi**2 / 12, timeout=TIMEOUT)
    assert v.status in SAMPLED_OK, v


def test_13850_whatever_sympy_integrates_now_is_judged_by_its_value():
    symbolic = sp.integrate(INTEGRAL_13850.function, (xp, 0, 1))
    with mpmath.workdps(40):
        wrong = abs(complex(sp.N(symbolic, 40)) - complex(sp.N(-sp.pi**2 / 12, 40))) > 1e-20
    v = check(INTEGRAL_13850, symbolic, timeout=TIMEOUT)
    if wrong:  # sympy 1.14: -pi**2/12 + 2*I*pi*log(2)
        assert v.status == Status.REFUTED, (symbolic, v)
    else:
        assert v.status in SAMPLED_OK, (symbolic, v)


def test_13850_the_antiderivative_is_refuted():
    F = sp.I * sp.pi * sp.log(xp + 1) - sp.polylog(2, xp + 1)
    lhs, rhs = sp.Derivative(F, xp), sp.log(xp) / (1 + xp)
    v = check(lhs, rhs, domain={xp: (0.1, 3)}, timeout=TIMEOUT)
    L, R = assert_refuted(v, lhs.doit(), rhs)
    with mpmath.workdps(40):
        X = mpmath.mpf(v.counterexample["x"])
        assert abs((L - R) - 2j * mpmath.pi / (X + 1)) < 1e-25  # off by exactly 2*pi*I/(x + 1)


# -- #7216: limits at branch cuts ------------------------------------------------------------------------
# https://github.com/sympy/sympy/issues/7216 : limit(sqrt(-1 + I*eps), eps, 0, '-') was I (it is -I:
# the argument approaches -1 from below the cut), and the same for log (-I*pi, not I*pi).
# sympy 1.14 gets these right; deriv must prove the right values and refute the old wrong ones.

def test_7216_sqrt_below_the_cut_is_proved():
    v = check_limit(sp.sqrt(-1 + sp.I * eps), eps, 0, -sp.I, direction="-", timeout=TIMEOUT)
    assert v.status == Status.PROVED, v


def test_7216_sqrt_above_the_cut_is_proved():
    v = check_limit(sp.sqrt(-1 + sp.I * eps), eps, 0, sp.I, direction="+", timeout=TIMEOUT)
    assert v.status == Status.PROVED, v


def test_7216_old_sqrt_answer_is_refuted():
    v = check_limit(sp.sqrt(-1 + sp.I * eps), eps, 0, sp.I, direction="-", timeout=TIMEOUT)
    assert v.status == Status.REFUTED, v


def test_7216_two_sided_limit_across_the_cut_is_not_proved():
    # the one-sided limits are I and -I: "the limit is I" is false; nothing may prove it
    # (sympy raises "the limit does not exist"; deriv says unknown -- refuted would also be right)
    v = check_limit(sp.sqrt(-1 + sp.I * eps), eps, 0, sp.I, direction="+-", timeout=TIMEOUT)
    assert v.status not in SAMPLED_OK, v


def test_7216_log_below_the_cut_is_proved():
    # BUG (checks._approaches): the approach values are compared with complex(N(value)), a
    # float64 rounding of -I*pi; from below the cut the 80-digit values pass that rounded target,
    # so "settled" fails and a true limit that sympy confirms ends as `unknown`
    v = check_limit(sp.log(-1 + sp.I * eps), eps, 0, -sp.I * sp.pi, direction="-", timeout=TIMEOUT)
    assert v.status == Status.PROVED, v


def test_7216_old_log_answer_is_refuted():
    # BUG (same): sympy says -I*pi, the values approach -I*pi, the claim is I*pi -- `unknown`, not refuted
    v = check_limit(sp.log(-1 + sp.I * eps), eps, 0, sp.I * sp.pi, direction="-", timeout=TIMEOUT)
    assert v.status == Status.REFUTED, v


@pytest.mark.parametrize("expr, value, direction", [
    (sp.pi - x, sp.pi, "+"),
    (sp.atan(1 / x), sp.pi / 2, "+"),
    (sp.atan(1 / x), -sp.pi / 2, "-"),
], ids=["pi-minus-x", "atan-jump-right", "atan-jump-left"])
def test_limit_with_an_irrational_value_approached_from_one_side_is_proved(expr, value, direction):
    # BUG (checks._approaches, as above, on the real line): the target is rounded to float64, so
    # values approaching pi from below end 1.2e-16 away, farther than at 1e-16 -- `unknown`
    v = check_limit(expr, x, 0, value, direction=direction, timeout=TIMEOUT)
    assert v.status == Status.PROVED, v
