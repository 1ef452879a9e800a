"""Lower a sympy expression to numeric code: vectorised numpy, or mpmath at any precision.

What sympy cannot lambdify directly is lowered here:
- `Derivative` -> its exact symbolic derivative (`diff`; for an `Integral`, Leibniz' rule);
- finite `Sum` with numeric limits -> the expanded sum;
- `Integral` over limits that evaluate to numbers -> Gauss-Legendre quadrature, vectorised over
  all sample points at once (numpy), or `mpmath.quad` (tanh-sinh) at the working precision.
Anything else that cannot be evaluated raises `LoweringError` with a message a user can act on.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.numpy import NumPyPrinter

MAX_EXPANDED_SUM = 10_000
QUADRATURE_NODES = 96


class QuadratureUnreliable(ArithmeticError):
    """mpmath.quad's own error estimate is too large for the working precision (a kink, a
    discontinuity, an oscillation): the value must not be used as evidence either way."""


class LoweringError(ValueError):
    """The expression has no numeric value we can compute (undefined function, open integral...)."""


def prepare(expr: sp.Expr) -> sp.Expr:
    """Rewrite derivatives and finite sums into forms numeric backends can evaluate."""
    expr = sp.sympify(expr)
    undefined = sorted({str(f.func) for f in expr.atoms(AppliedUndef)})
    if undefined:
        raise LoweringError(
            f"undefined function {', '.join(undefined)} has no numeric value; "
            "define it as an expression (e.g. f = sp.Lambda(x, ...)) before using it in a step"
        )
    expr = expr.replace(lambda e: isinstance(e, sp.Sum), expand_sum)
    # innermost first, so a derivative of a derivative is taken from the inside out
    expr = expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: e.doit(deep=False))
    leftovers = expr.atoms(sp.Derivative)
    if leftovers:
        raise LoweringError(f"cannot evaluate the derivative {next(iter(leftovers))}")
    return expr


def expand_sum(s: sp.Sum) -> sp.Expr:
    """A sum with integer limits written out term by term (innermost limits last)."""
    body = s.function
    for var, low, high in reversed(s.limits):
        if not (low.is_Integer and high.is_Integer):
            raise LoweringError(f"sum over {var} from {low} to {high} has no numeric limits")
        count = int(high) - int(low) + 1
        if count > MAX_EXPANDED_SUM:
            raise LoweringError(f"sum over {var} has {count} terms (limit {MAX_EXPANDED_SUM})")
        body = sp.Add(*[body.xreplace({var: sp.Integer(i)}) for i in range(int(low), int(high) + 1)])
    return body


class _VectorPrinter(NumPyPrinter):
    """numpy printer whose output broadcasts over arrays for every function we lower."""

    def _print_Max(self, expr):
        return self._nested("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested("numpy.minimum", expr.args)

    def _nested(self, function: str, args) -> str:
        printed = [self._print(a) for a in args]
        out = printed[0]
        for item in printed[1:]:
            out = f"{function}({out}, {item})"
        return out

    def _print_KroneckerDelta(self, expr):
        a, b = (self._print(arg) for arg in expr.args)
        return f"numpy.where(numpy.equal({a}, {b}), 1.0, 0.0)"


def _outermost_integrals(expr: sp.Expr) -> list[sp.Integral]:
    found: list[sp.Integral] = []

    def walk(e):
        if isinstance(e, sp.Integral):
            found.append(e)
            return
        for arg in e.args:
            walk(arg)

    walk(expr)
    return list(dict.fromkeys(found))


@lru_cache(maxsize=None)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


Compiled = Callable[..., Any]


def compile_expr(expr: sp.Expr, args: Sequence[sp.Symbol], backend: str) -> Compiled:
    """A function of `args` (arrays for numpy, mpf for mpmath) computing the prepared `expr`."""
    if backend not in ("numpy", "mpmath"):
        raise ValueError(backend)
    args = tuple(args)
    integrals = _outermost_integrals(expr)
    holders = tuple(sp.Dummy(f"I{i}") for i in range(len(integrals)))
    outer = expr.xreplace(dict(zip(integrals, holders)))
    if backend == "numpy":
        outer_fn = sp.lambdify(args + holders, outer, modules="numpy",
                               printer=_VectorPrinter)
    else:
        outer_fn = sp.lambdify(args + holders, outer, modules="mpmath")
    integral_fns = [_compile_integral(I, args, backend) for I in integrals]
    if not integral_fns:
        return outer_fn

    def evaluate(*values):
        return outer_fn(*values, *(g(*values) for g in integral_fns))

    return evaluate


def _compile_integral(integral: sp.Integral, args: tuple, backend: str) -> Compiled:
    *inner_limits, last = integral.limits
    if len(last) != 3:
        raise LoweringError(f"indefinite integral {integral} has no numeric value; give its limits")
    var, low, high = last
    inner = sp.Integral(integral.function, *inner_limits) if inner_limits else integral.function
    if var in args:  # x + ∫ f(x) dx: the bound x is another variable than the free one
        fresh = sp.Dummy(var.name, **var.assumptions0)
        inner, var = inner.xreplace({var: fresh}), fresh
    body = compile_expr(inner, args + (var,), backend)
    low_fn = compile_expr(low, args, backend)
    high_fn = compile_expr(high, args, backend)

    if backend == "mpmath":
        # An integral is often re-evaluated with the same arguments (an inner normaliser that does
        # not depend on the outer integration variable): remember values by the arguments it uses.
        used = [i for i, a in enumerate(args) if a in integral.free_symbols]
        memo: dict = {}

        def quad(*values):
            key = (mpmath.mp.prec, *(values[i] for i in used))
            if key not in memo:
                if len(memo) > 10_000:
                    memo.clear()
                a, b = low_fn(*values), high_fn(*values)

                def integrand(t):
                    try:
                        v = body(*values, t)
                    except (ZeroDivisionError, ValueError, OverflowError) as exc:
                        raise QuadratureUnreliable(f"integrand fails at a quadrature node t={mpmath.nstr(t, 6)}: "
                                                   f"{type(exc).__name__}") from exc
                    if not mpmath.isfinite(v):
                        raise QuadratureUnreliable(f"integrand is {v} at the quadrature node "
                                                   f"t={mpmath.nstr(t, 6)} (a singularity inside the interval?)")
                    return v

                value, error = mpmath.quad(integrand, [a, b], error=True)
                # tanh-sinh reaches nearly full precision on smooth (even endpoint-singular)
                # integrands; a larger error estimate means the rule does not fit the integrand
                tolerance = mpmath.mpf(10) ** (-mpmath.mp.dps + 10) * max(1, abs(value))
                if not error <= tolerance:
                    raise QuadratureUnreliable(
                        f"mpmath.quad error estimate {mpmath.nstr(error, 3)} at {mpmath.mp.dps} digits "
                        f"over [{mpmath.nstr(a, 6)}, {mpmath.nstr(b, 6)}] (kink or discontinuity?)")
                memo[key] = value
            return memo[key]

        return quad

    if any(limit.has(sp.oo, -sp.oo, sp.zoo) for limit in (low, high)):
        raise LoweringError("improper integral: evaluated with mpmath only")
    nodes, weights = _gauss_legendre(QUADRATURE_NODES)

    def gauss(*values):
        arrays = np.broadcast_arrays(low_fn(*values), high_fn(*values), *values)
        a, b = arrays[0], arrays[1]
        half, mid = (b - a) / 2.0, (b + a) / 2.0
        points = mid[..., None] + half[..., None] * nodes
        lifted = [np.asarray(v)[..., None] for v in arrays[2:]]
        integrand = np.asarray(body(*lifted, points))
        return (integrand * weights).sum(axis=-1) * half

    return gauss


@dataclass(frozen=True)
class Lowered:
    """Both numeric forms of one expression, over a fixed argument order."""

    expr: sp.Expr
    args: tuple[sp.Symbol, ...]

    @classmethod
    def of(cls, expr: sp.Expr, args: Sequence[sp.Symbol]) -> "Lowered":
        return cls(prepare(expr), tuple(args))

    def numpy_fn(self) -> Compiled:
        return compile_expr(self.expr, self.args, "numpy")

    def mpmath_fn(self) -> Compiled:
        return compile_expr(self.expr, self.args, "mpmath")
