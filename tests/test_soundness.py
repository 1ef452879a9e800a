"""Soundness, both directions (DESIGN §3-4): a true thing is never refuted, a false thing is never proved.

`refuted` needs a mismatch confirmed at >= 50 digits; float64 alone decides nothing, neither a
mismatch (cancellation) nor an agreement (differences below float64 resolution).
"""
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from deriv import Status, check

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
m = sp.Symbol("m", positive=True)
xp = sp.Symbol("x", positive=True)
a, b = sp.symbols("a b", positive=True)

SAMPLED_OK = (Status.PROVED, Status.NUMERIC)

# True identities whose two sides cancel catastrophically in float64 on the given domain.
ILL_CONDITIONED_TRUE = {
    "expm1": ((sp.exp(m) - 1 - m) / m**2, (2 * sp.exp(m / 2) * sp.sinh(m / 2) - m) / m**2, {m: (1e-9, 1e-7)}),
    "one-minus-cos": ((1 - sp.cos(x)) / x**2, 2 * sp.sin(x / 2) ** 2 / x**2, {x: (1e-9, 1e-7)}),
    "sqrt-difference": (sp.sqrt(x + 1) - sp.sqrt(x), 1 / (sp.sqrt(x + 1) + sp.sqrt(x)), {x: (1e10, 1e14)}),
    "log1p": (sp.log(1 + x) / x, 2 * sp.atanh(x / (2 + x)) / x, {x: (1e-12, 1e-9)}),
    "polynomial-beyond-2^53": ((x + 1) ** 2 - x**2 - 2 * x, sp.Integer(1), {x: (1e8, 1e9)}),
    "entropy-gradient": (-1 / m + m * sp.exp(m) / (sp.exp(m) - 1) ** 2,
                         (m**2 * sp.exp(m) - (sp.exp(m) - 1) ** 2) / (m * (sp.exp(m) - 1) ** 2), {m: (1e-8, 1e-6)}),
}


@pytest.mark.parametrize("name", list(ILL_CONDITIONED_TRUE))
def test_true_identity_with_float_cancellation_is_never_refuted(name):
    lhs, rhs, domain = ILL_CONDITIONED_TRUE[name]
    v = check(lhs, rhs, domain=domain)
    assert v.status in SAMPLED_OK, v


@pytest.mark.parametrize("name", list(ILL_CONDITIONED_TRUE))
def test_numeric_screen_alone_does_not_refute_float_cancellation(name):
    # symbolic=False: the full screen (2000 points, suspects re-checked at 50/80 digits) decides
    lhs, rhs, domain = ILL_CONDITIONED_TRUE[name]
    v = check(lhs, rhs, domain=domain, symbolic=False)
    assert v.status == "numeric", v
    assert v.evidence["float_suspects"] > 0  # float64 really was in trouble on this domain
    assert v.evidence["hp_points"] > 0


# False identities that float64 cannot tell from true ones (or that only fail in a cancellation zone).
NEAR_MISSES = {
    "pythagoras-plus-1e-10x": (sp.sin(x) ** 2 + sp.cos(x) ** 2, 1 + sp.Float(1e-10) * x, None),
    "relative-1e-10": (x, x * (1 + sp.Rational(1, 10**10)), {x: (1, 2)}),
    "expm1-relative-1e-10": ((sp.exp(m) - 1 - m) / m**2,
                             (2 * sp.exp(m / 2) * sp.sinh(m / 2) - m) / m**2 * (1 + sp.Rational(1, 10**10)),
                             {m: (1e-9, 1e-7)}),
    "absolute-1e-13": (sp.cos(x), sp.cos(x) + sp.Rational(1, 10**13), None),
}


@pytest.mark.parametrize("name", list(NEAR_MISSES))
def test_false_identity_below_float_resolution_is_refuted(name):
    lhs, rhs, domain = NEAR_MISSES[name]
    v = check(lhs, rhs, domain=domain)
    assert v.status == "refuted", v
    assert v.counterexample is not None and v.counterexample.keys() <= {"x", "m"}
    assert v.evidence["lhs_value"] != v.evidence["rhs_value"]
    assert "difference" in v.evidence


# Identities sympy users believe, false on the principal branch for part of the real line.
BRANCH_TRAPS = {
    "log-of-square": (sp.log(x**2), 2 * sp.log(x)),
    "sqrt-of-square": (sp.sqrt(x**2), x),
    "sqrt-of-product": (sp.sqrt(x * y), sp.sqrt(x) * sp.sqrt(y)),
    "log-of-product": (sp.log(x * y), sp.log(x) + sp.log(y)),
    "asin-of-sin": (sp.asin(sp.sin(x)), x),
}


@pytest.mark.parametrize("name", list(BRANCH_TRAPS))
def test_branch_trap_on_real_symbols_is_refuted_never_proved(name):
    lhs, rhs = BRANCH_TRAPS[name]
    v = check(lhs, rhs)
    assert v.status != "proved", v
    assert v.status == "refuted", v
    assert v.counterexample
    assert "lhs_value" in v.evidence and "rhs_value" in v.evidence


@pytest.mark.parametrize("lhs, rhs", [
    (sp.log(xp**2), 2 * sp.log(xp)),
    (sp.sqrt(xp**2), xp),
    (sp.log(a * b), sp.log(a) + sp.log(b)),
])
def test_the_same_identities_are_proved_for_positive_symbols(lhs, rhs):
    assert check(lhs, rhs).status == "proved"


def test_a_domain_contradicting_the_assumptions_is_an_error_not_a_proof():
    # log(ab) = log a + log b follows from a, b > 0; an interval where they are negative
    # contradicts the assumptions the rewrite used, so the step is bad input, never `proved`
    v = check(sp.log(a * b), sp.log(a) + sp.log(b), domain={a: (-2, -1), b: (-2, -1)})
    assert v.status == "error", v
    assert "contradicts" in v.detail


def test_false_const_step_is_never_proved():
    v = check(sp.log(m * xp), sp.log(xp), "const", wrt=[m], domain={m: (0.1, 5), xp: (0.1, 5)})
    assert v.status == "refuted", v


@pytest.mark.parametrize("relation", ["lt", "gt"])
def test_strict_inequality_between_identical_sides_is_refuted(relation):
    v = check(x**2 + 1, x**2 + 1, relation)
    assert v.status == "refuted", v
    assert v.counterexample is not None


@pytest.mark.parametrize("relation", ["lt", "gt"])
def test_strict_inequality_between_equal_sides_is_not_sampled_as_holding(relation):
    # regression: a tie counted as "holds" for lt/gt, so atan(x) + atan(1/x) < pi/2 on x > 0
    # (an identity the cheap rewrites miss) was reported `numeric` although it fails everywhere
    v = check(sp.atan(x) + sp.atan(1 / x), sp.pi / 2, relation, domain={x: (0.1, 3)})
    assert v.status not in SAMPLED_OK, v


# Integrals whose integrand has a kink, a jump or a singularity inside the interval: the quadrature
# (mpmath's tanh-sinh) does not converge there, and its error is the same at 50 and 80 digits.
ROUGH_INTEGRALS = {
    "abs": (sp.Integral(sp.Abs(x), (x, -1, 2)), sp.Rational(5, 2)),
    "abs-moving-kink": (sp.Integral(sp.Abs(x - m), (x, 0, 3)), (m**2 + (3 - m) ** 2) / 2),
    "floor": (sp.Integral(sp.floor(x), (x, 0, sp.Rational(5, 2))), sp.Integer(2)),
    "inverse-sqrt-singularity": (sp.Integral(1 / sp.sqrt(sp.Abs(x)), (x, -1, 2)), 2 + 2 * sp.sqrt(2)),
}


@pytest.mark.parametrize("name", list(ROUGH_INTEGRALS))
def test_true_integral_of_a_rough_integrand_is_never_refuted(name):
    # regression: quadrature error passed the "stable at 50 and 80 digits" test and
    # ∫_{-1}^{2} |x| dx = 5/2 was refuted
    lhs, rhs = ROUGH_INTEGRALS[name]
    v = check(lhs, rhs, domain={m: (0.5, 2.5)})
    assert v.status != "refuted", v


def test_unreliable_quadrature_says_why():
    # BUG (numeric._conclude): when mpmath.quad's error estimate is too large the point is
    # "unresolved", but the verdict's detail reads "... e.g. {'m': 1.47...}: lhs=, rhs=" -- the
    # reason (kept in PointCheck.difference) is dropped, so the user cannot act on it.
    lhs, rhs = ROUGH_INTEGRALS["abs-moving-kink"]
    v = check(lhs, rhs, domain={m: (0.5, 2.5)})
    assert v.status == "unknown", v
    assert "quad" in v.detail, v.detail


def test_integral_with_a_singularity_at_its_midpoint_is_not_blamed_on_the_domain():
    # BUG (lowering._compile_integral, mpmath backend): tanh-sinh evaluates the midpoint of
    # [a, b]; for ∫_{-1}^{1} log(x^2) dx (= -4, finite) that is log(0) = -inf, so the integral
    # counts as "undefined" and the false claim = -5 ends as `error` "both sides are undefined
    # ... check the domain of the step" -- a wrong diagnosis, not a refutation.
    v = check(sp.Integral(sp.log(x**2), (x, -1, 1)), -5)
    assert v.status in (Status.REFUTED, Status.UNKNOWN), v


# -- property: polynomials with small integer coefficients --------------------------------------

MONOMIALS = [sp.Integer(1), x, y, x * y, x**2, y**2, x**2 * y]
coefficients = st.lists(st.integers(-4, 4), min_size=len(MONOMIALS), max_size=len(MONOMIALS))


def polynomial(coeffs):
    return sp.Add(*[c * mono for c, mono in zip(coeffs, MONOMIALS)])


@settings(max_examples=25, deadline=None)
@given(coefficients, coefficients)
def test_product_equals_its_expansion(p_coeffs, q_coeffs):
    p, q = polynomial(p_coeffs), polynomial(q_coeffs)
    v = check(p * q, sp.expand(p * q))
    assert v.status == "proved", (p, q, v)


@settings(max_examples=25, deadline=None)
@given(coefficients, st.integers(-50, 50).filter(lambda c: c != 0), st.integers(1, 1000))
def test_polynomial_plus_a_constant_is_refuted(p_coeffs, numerator, denominator):
    p = polynomial(p_coeffs)
    c = sp.Rational(numerator, denominator)
    v = check(p, p + c)
    assert v.status == "refuted", (p, c, v)
    assert v.counterexample is not None
    assert v.counterexample.keys() == {s.name for s in p.free_symbols}
