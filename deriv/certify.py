"""Certified counterexamples: interval arithmetic turns a refutation into a disproof.

A refutation is decided by the numeric screen: the difference of the two sides at a point is the
same at 50 and at 80 digits (numeric.py). That is strong evidence, but it is floating point. Here
the same point is evaluated once more with mpmath's interval arithmetic (`mpmath.iv`): every
operation rounds outward, so the interval computed for lhs − rhs is guaranteed to contain the true
value. If that interval excludes 0 (or, for an inequality, lies wholly on the wrong side), the
counterexample is certified: a rigorous disproof at that point, not a floating-point opinion.

`enclose(expr, point)` evaluates a sympy expression (prepared as for the numeric screen: finite sums
expanded, derivatives taken) recursively over its tree. The point's coordinates are floats and
become exact degenerate intervals; a sympy Float is its exact binary value; an Integer or Rational
is rounded outward. Supported: Add, Mul, Pow (integer exponents; other exponents of a positive
base; square roots of a nonnegative one), exp, log (of a positive interval), sin, cos, tan, sinh,
cosh, tanh, atan, asin, acos, floor, ceiling, Abs, Max, Min, sign, Heaviside, KroneckerDelta and Piecewise
whose arguments or conditions are decided on the intervals, and the constants pi, E, EulerGamma,
Catalan, GoldenRatio. Anything else raises
`Unsupported` (an Integral: no rigorous quadrature here; an unknown function); an interval that
reaches a singularity (log of an interval touching 0, division by an interval containing 0) raises
`Singular` -- never an unbounded or guessed "enclosure".

Belt and braces: the results of exp, log, powers and constants are widened by a few units in the
last place beyond mpmath's directed rounding, and sin/cos are enclosed as sin(m) ± (r + ε) around
the midpoint m of the interval (|sin'| ≤ 1), with sin(m) computed 20 bits beyond the working
precision. Widening only ever makes an enclosure larger: it can cost a certificate, never make one
false.

`certify(lhs, rhs, relation, counterexample)` tries 64, 128, 256, ... 4096 bits until the
enclosure decides, within a time budget (2 s), and returns a small JSON-ready dict: `certified`, and the
method and intervals, or the reason it could not be certified.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

import sympy as sp
from mpmath import iv
from mpmath import libmp

from .budget import BudgetExceeded, alarm
from .lowering import LoweringError, prepare

PRECISION_BITS = (64, 128, 256, 512, 1024, 2048, 4096)
CERTIFY_SECONDS = 2.0   # the whole certification of one refutation
MAX_NODES = 20_000      # distinct subexpressions of the prepared sides; larger ones are skipped
DIGITS = 20             # significant digits shown of each bound (rounded outward)
LIMIT_REASON = "a limit is not a point value: not certified by interval arithmetic"


class CertificationError(ArithmeticError):
    """No enclosure could be computed."""


class Unsupported(CertificationError):
    """A construct deriv.certify has no interval enclosure for (an Integral, an unknown function)."""


class Singular(CertificationError):
    """An interval reaches a singularity or leaves the real domain (log of an interval touching 0,
    division by an interval containing 0): no bounded real enclosure exists."""


class Undecided(CertificationError):
    """A branch (a Piecewise condition, sign, Heaviside, KroneckerDelta) is not decided on the interval."""


# -- intervals --------------------------------------------------------------------------------

@contextmanager
def _working_precision(bits: int):
    saved = iv.prec
    iv.prec = bits
    try:
        yield
    finally:
        iv.prec = saved


def _lo(x) -> tuple:
    return x._mpi_[0]


def _hi(x) -> tuple:
    return x._mpi_[1]


def _finite(x) -> bool:
    return all(v not in (libmp.finf, libmp.fninf, libmp.fnan) for v in x._mpi_)


def _point_interval(value) -> Any:
    """An exact degenerate interval for a float, an int or an mpf."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        v = libmp.from_int(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Singular(f"the point has a non-finite coordinate {value!r}")
        v = libmp.from_float(value, 53, libmp.round_nearest)  # a float has 53 bits: exact
    elif hasattr(value, "_mpf_"):
        v = value._mpf_
    else:
        raise Unsupported(f"a coordinate of type {type(value).__name__} ({value!r})")
    return iv.make_mpf((v, v))


def _exact(v: tuple) -> Any:
    return iv.make_mpf((v, v))


def _widen(x, ulps_bits: int = 3, absolute: bool = False):
    """x enlarged by a relative 2^-(prec-ulps_bits) (and as much absolutely): a safety margin."""
    delta = libmp.from_man_exp(1, -(iv.prec - ulps_bits))
    factor = iv.make_mpf((libmp.mpf_sub(libmp.fone, delta), libmp.mpf_add(libmp.fone, delta)))
    out = x * factor
    if absolute:
        out = out + iv.make_mpf((libmp.mpf_neg(delta), delta))
    return out


def _contains_zero(x) -> bool:
    return libmp.mpf_sign(_lo(x)) <= 0 <= libmp.mpf_sign(_hi(x))


def _positive(x) -> bool:
    return libmp.mpf_sign(_lo(x)) > 0


def _nonnegative(x) -> bool:
    return libmp.mpf_sign(_lo(x)) >= 0


def _degenerate(x) -> bool:
    return _lo(x) == _hi(x)


def show(x, digits: int = DIGITS) -> str:
    """An interval as "[a, b]", each bound rounded outward to `digits` significant digits (the
    printed interval still contains the computed one)."""
    return f"[{_decimal(_lo(x), digits, up=False)}, {_decimal(_hi(x), digits, up=True)}]"


def _decimal(v: tuple, digits: int, up: bool) -> str:
    if v == libmp.fzero:
        return "0"
    if v in (libmp.finf, libmp.fninf, libmp.fnan):
        return libmp.to_str(v, 5)
    sign, man, exp, _ = v
    value = Fraction(man * 2 ** exp) if exp >= 0 else Fraction(man, 2 ** -exp)
    if sign:
        value = -value
    # k such that 10^(digits-1) <= |value| * 10^k < 10^digits
    magnitude = abs(value)
    e10 = math.floor((man.bit_length() + exp - 1) * math.log10(2))
    while Fraction(10) ** e10 > magnitude:
        e10 -= 1
    while Fraction(10) ** (e10 + 1) <= magnitude:
        e10 += 1
    k = digits - 1 - e10
    scaled = value * Fraction(10) ** k
    n = math.ceil(scaled) if up else math.floor(scaled)
    exact = Decimal(f"{n}E{-k}").normalize()  # from a string: no rounding
    return format(exact, "f") if -6 <= exact.adjusted() < 21 else format(exact, "E")


# -- enclosures ---------------------------------------------------------------------------------

_CONSTANTS = {sp.pi: "pi", sp.E: "e", sp.EulerGamma: "euler", sp.Catalan: "catalan",
              sp.GoldenRatio: "phi"}


class _Enclosure:
    """Evaluates one prepared expression over intervals at one precision (memoised by node)."""

    def __init__(self, point: Mapping[sp.Symbol, Any]):
        self.point = point
        self.memo: dict[sp.Basic, Any] = {}

    def __call__(self, expr: sp.Basic):
        found = self.memo.get(expr)
        if found is None:
            found = self._eval(expr)
            if not _finite(found):
                raise Singular(f"the enclosure of {_short(expr)} is unbounded ({show(found)})")
            self.memo[expr] = found
        return found

    def _eval(self, e: sp.Basic):  # noqa: C901 - one case per kind of node
        if e.is_Symbol:
            if e not in self.point:
                raise Unsupported(f"no value for the symbol {e} at the counterexample")
            return self.point[e]
        if e.is_Integer:
            return iv.mpf(int(e))
        if e.is_Rational:
            return iv.mpf(int(e.p)) / iv.mpf(int(e.q))
        if e.is_Float:
            return _exact(e._mpf_)
        if e in _CONSTANTS:
            return _widen(+getattr(iv, _CONSTANTS[e]))
        if e.is_Add:
            total = self(e.args[0])
            for arg in e.args[1:]:
                total = total + self(arg)
            return total
        if e.is_Mul:
            args = list(e.args)
            product = self(args[0])
            for arg in args[1:]:
                product = product * self(arg)  # a division is a Pow with exponent -1: see _pow
            return product
        if e.is_Pow:
            return self._pow(e.base, e.exp)
        if isinstance(e, sp.exp):
            return _widen(iv.exp(self(e.args[0])))
        if isinstance(e, sp.log):
            x = self(e.args[0])
            if not _positive(x):
                raise Singular(_off_domain(f"log({_short(e.args[0])})", x))
            return _widen(iv.log(x), absolute=True)
        if isinstance(e, (sp.sin, sp.cos)):
            return _sin_cos(self(e.args[0]), isinstance(e, sp.cos))
        if isinstance(e, sp.tan):
            x = self(e.args[0])
            cos = _sin_cos(x, True)
            if _contains_zero(cos):
                raise Singular(f"tan at an interval where cos may vanish: {_short(e)}")
            return _sin_cos(x, False) / cos
        if isinstance(e, (sp.sinh, sp.cosh)):
            x = self(e.args[0])
            up, down = _widen(iv.exp(x)), _widen(iv.exp(-x))
            return (up - down) / 2 if isinstance(e, sp.sinh) else (up + down) / 2
        if isinstance(e, sp.tanh):  # 1 − 2/(e^{2x} + 1): x occurs once, so the enclosure is tight
            return 1 - 2 / (_widen(iv.exp(2 * self(e.args[0]))) + 1)
        if isinstance(e, sp.atan):  # increasing
            a, b = self(e.args[0])._mpi_
            return _widen(iv.make_mpf((libmp.mpf_atan(a, iv.prec, libmp.round_floor),
                                       libmp.mpf_atan(b, iv.prec, libmp.round_ceiling))))
        if isinstance(e, (sp.asin, sp.acos)):  # asin increasing, acos decreasing on [−1, 1]
            a, b = self(e.args[0])._mpi_
            if libmp.mpf_lt(a, libmp.fnone) or libmp.mpf_gt(b, libmp.fone):
                raise Singular(f"{_short(e)}: the argument in {show(iv.make_mpf((a, b)))} leaves [−1, 1] "
                               "(a complex value; complex values are not enclosed)")
            if isinstance(e, sp.asin):
                ends = (libmp.mpf_asin(a, iv.prec, libmp.round_floor), libmp.mpf_asin(b, iv.prec, libmp.round_ceiling))
            else:
                ends = (libmp.mpf_acos(b, iv.prec, libmp.round_floor), libmp.mpf_acos(a, iv.prec, libmp.round_ceiling))
            return _widen(iv.make_mpf(ends), absolute=True)
        if isinstance(e, (sp.floor, sp.ceiling)):  # nondecreasing, exact at the bounds
            a, b = self(e.args[0])._mpi_
            fn = libmp.mpf_floor if isinstance(e, sp.floor) else libmp.mpf_ceil
            return iv.make_mpf((fn(a), fn(b)))
        if isinstance(e, sp.Abs):
            return abs(self(e.args[0]))
        if isinstance(e, (sp.Max, sp.Min)):
            return _extremum([self(a) for a in e.args], isinstance(e, sp.Max))
        if isinstance(e, sp.sign):
            x = self(e.args[0])
            return iv.mpf(_decided_sign(x, e))
        if isinstance(e, sp.Heaviside):
            x = self(e.args[0])
            if libmp.mpf_sign(_lo(x)) > 0:
                return iv.mpf(1)
            if libmp.mpf_sign(_hi(x)) < 0:
                return iv.mpf(0)
            if _degenerate(x):  # exactly 0: the value given for H(0) (sympy's default 1/2)
                return self(e.args[1]) if len(e.args) > 1 else iv.mpf(1) / 2
            raise Undecided(f"{_short(e)}: the sign of the argument is not decided on {show(x)}")
        if isinstance(e, sp.KroneckerDelta):
            a, b = (self(arg) for arg in e.args)
            if _degenerate(a) and _degenerate(b) and _lo(a) == _lo(b):
                return iv.mpf(1)
            if libmp.mpf_lt(_hi(a), _lo(b)) or libmp.mpf_lt(_hi(b), _lo(a)):
                return iv.mpf(0)
            raise Undecided(f"{_short(e)}: the arguments are not decided equal or different")
        if isinstance(e, sp.Piecewise):
            for value, condition in e.args:
                decided = self._condition(condition)
                if decided is None:
                    raise Undecided(f"the Piecewise condition {_short(condition)} is not decided "
                                    "on the enclosure")
                if decided:
                    return self(value)
            raise Singular(f"no branch of {_short(e)} holds at the point")
        if isinstance(e, sp.Integral):
            raise Unsupported("an integral (no rigorous quadrature enclosure in deriv.certify)")
        if e.is_number and (e.has(sp.I) or e in (sp.oo, -sp.oo, sp.zoo, sp.nan)):
            raise Unsupported(f"the constant {e} (complex or infinite)")
        name = getattr(getattr(e, "func", None), "__name__", type(e).__name__)
        raise Unsupported(f"the function {name} (no interval enclosure in deriv.certify)")

    def _pow(self, base, exponent):
        b = self(base)
        n = _integer_value(exponent)
        if n is not None:
            if n < 0 and _contains_zero(b):
                raise Singular(f"division by an interval containing 0: ({_short(base)})**{n} "
                               f"with the base in {show(b)}")
            if n < 0:
                return _widen(iv.mpf(1) / (b ** (-n)))
            return _widen(b ** n) if n > 2 else b ** n
        if exponent == sp.S.Half:
            if not _nonnegative(b):
                raise Singular(_off_domain(f"sqrt({_short(base)})", b))
            return _widen(iv.sqrt(b))
        if not _positive(b):
            raise Singular(_off_domain(f"({_short(base)})**({_short(exponent)})", b))
        e = self(exponent)
        return _widen(iv.exp(_widen(e * iv.log(b), absolute=True)))

    def _condition(self, c) -> bool | None:
        if c is sp.true or c == True:  # noqa: E712 - sympy's true
            return True
        if c is sp.false or c == False:  # noqa: E712
            return False
        if isinstance(c, sp.And):
            parts = [self._condition(a) for a in c.args]
            return False if False in parts else (None if None in parts else True)
        if isinstance(c, sp.Or):
            parts = [self._condition(a) for a in c.args]
            return True if True in parts else (None if None in parts else False)
        if isinstance(c, sp.Not):
            inner = self._condition(c.args[0])
            return None if inner is None else not inner
        if isinstance(c, sp.core.relational.Relational):
            d = self(c.lhs) - self(c.rhs)
            lo, hi = libmp.mpf_sign(_lo(d)), libmp.mpf_sign(_hi(d))
            op = c.rel_op
            if op == "<":
                return True if hi < 0 else (False if lo >= 0 else None)
            if op == "<=":
                return True if hi <= 0 else (False if lo > 0 else None)
            if op == ">":
                return True if lo > 0 else (False if hi <= 0 else None)
            if op == ">=":
                return True if lo >= 0 else (False if hi < 0 else None)
            if op == "==":
                return True if lo == hi == 0 else (False if lo > 0 or hi < 0 else None)
            if op == "!=":
                return False if lo == hi == 0 else (True if lo > 0 or hi < 0 else None)
        raise Unsupported(f"the condition {_short(c)}")


def _off_domain(call: str, x) -> str:
    """Why `call` has no real enclosure when its argument (or base) is enclosed by x."""
    if libmp.mpf_sign(_hi(x)) < 0:
        return (f"{call}: the argument is in {show(x)}, negative, so the value is complex "
                "(complex values are not enclosed)")
    return f"{call}: the argument's enclosure {show(x)} reaches 0 (a singularity or branch point)"


def _integer_value(exponent) -> int | None:
    if exponent.is_Integer:
        return int(exponent)
    if exponent.is_Float and exponent == int(exponent):
        return int(exponent)
    return None


def _decided_sign(x, e) -> int:
    if libmp.mpf_sign(_lo(x)) > 0:
        return 1
    if libmp.mpf_sign(_hi(x)) < 0:
        return -1
    if _lo(x) == _hi(x) == libmp.fzero:
        return 0
    raise Undecided(f"{_short(e)}: the sign is not decided on {show(x)}")


def _extremum(values, largest: bool):
    pick = (lambda a, b: a if libmp.mpf_ge(a, b) else b) if largest else \
        (lambda a, b: a if libmp.mpf_le(a, b) else b)
    lo, hi = _lo(values[0]), _hi(values[0])
    for v in values[1:]:
        lo, hi = pick(lo, _lo(v)), pick(hi, _hi(v))
    return iv.make_mpf((lo, hi))


def _sin_cos(x, cosine: bool):
    """sin or cos of an interval: f(m) ± (r + ε) around its midpoint m (|f'| ≤ 1), ∩ [−1, 1]."""
    a, b = x._mpi_
    mid = libmp.mpf_shift(libmp.mpf_add(a, b), -1)            # exact
    radius = libmp.mpf_sub(b, mid, iv.prec, libmp.round_ceiling)
    wp = iv.prec + 20
    value = (libmp.mpf_cos if cosine else libmp.mpf_sin)(mid, wp, libmp.round_nearest)
    # mpmath's sin/cos at wp bits are accurate to a few ulps of a value of size ≤ 1
    slack = libmp.mpf_add(radius, libmp.from_man_exp(1, -(wp - 8)), iv.prec, libmp.round_ceiling)
    out = _exact(value) + iv.make_mpf((libmp.mpf_neg(slack), slack))
    low = _lo(out) if libmp.mpf_ge(_lo(out), libmp.fnone) else libmp.fnone
    high = _hi(out) if libmp.mpf_le(_hi(out), libmp.fone) else libmp.fone
    return iv.make_mpf((low, high))


def _short(expr, width: int = 60) -> str:
    text = str(expr)
    return text if len(text) <= width else text[: width - 1] + "…"


def _symbol_point(expr: sp.Basic, point: Mapping) -> dict[sp.Symbol, Any]:
    """The point's coordinates for the free symbols of expr (keys may be symbols or names)."""
    by_name = {str(k): v for k, v in point.items()}
    out = {}
    for s in expr.free_symbols:
        if s in point:
            out[s] = _point_interval(point[s])
        elif s.name in by_name:
            out[s] = _point_interval(by_name[s.name])
    return out


def enclose(expr, point: Mapping, prec_bits: int = 128, *, prepared: bool = False):
    """An interval (`mpmath.iv.mpf`) guaranteed to contain the value of `expr` at `point`.

    `point` maps symbols (or their names) to floats; each coordinate is an exact degenerate
    interval. Raises Unsupported, Singular or Undecided (all CertificationError) when no
    bounded real enclosure can be computed.
    """
    expr = sp.sympify(expr)
    if not prepared:
        try:
            expr = prepare(expr)
        except LoweringError as exc:
            raise Unsupported(str(exc)) from exc
    with _working_precision(prec_bits):
        values = _symbol_point(expr, point)
        try:
            result = _Enclosure(values)(expr)
        except RecursionError as exc:
            raise Unsupported("the expression is nested too deeply") from exc
        return iv.make_mpf(result._mpi_)


def _distinct_nodes(exprs, limit: int) -> int:
    """Distinct subexpressions of exprs, counting stops just past `limit`."""
    seen: set = set()
    stack = list(exprs)
    while stack and len(seen) <= limit:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        stack.extend(e.args)
    return len(seen)


# -- certificates --------------------------------------------------------------------------------

# What refutes each relation, as a test on the enclosure [lo, hi] of lhs − rhs (signs of lo, hi)
_REFUTES = {
    "eq": (lambda lo, hi: lo > 0 or hi < 0, "excludes 0, so lhs = rhs fails"),
    "le": (lambda lo, hi: lo > 0, "is > 0, so lhs ≤ rhs fails"),
    "lt": (lambda lo, hi: lo >= 0, "is ≥ 0, so lhs < rhs fails"),
    "ge": (lambda lo, hi: hi < 0, "is < 0, so lhs ≥ rhs fails"),
    "gt": (lambda lo, hi: hi <= 0, "is ≤ 0, so lhs > rhs fails"),
    "const": (lambda lo, hi: lo > 0 or hi < 0, "excludes 0, so lhs − rhs is not constant"),
}
_NEEDS = {"eq": "≠ 0", "le": "> 0", "lt": "≥ 0", "ge": "< 0", "gt": "≤ 0", "const": "≠ 0"}


def certify(lhs, rhs, relation: str, counterexample: Mapping, *, second: Mapping | None = None,
            seconds: float = CERTIFY_SECONDS, max_nodes: int = MAX_NODES,
            precisions: tuple[int, ...] = PRECISION_BITS) -> dict[str, Any]:
    """Certify that `lhs relation rhs` fails at `counterexample`, by interval arithmetic.

    For `eq`, the enclosure of lhs − rhs must exclude 0; for `le` lie above 0 (`lt`: at or above
    0), for `ge`/`gt` mirrored. For `const`, `second` is the second point (only the parameters
    changed) and the enclosure of (lhs − rhs)(first) − (lhs − rhs)(second) must exclude 0.
    `limit` is never certified. Returns {"certified": True, "method", "bits", "lhs", "rhs",
    "difference", "excludes", "statement"} or {"certified": False, "reason", ...}.
    """
    if relation == "limit":
        return {"certified": False, "reason": LIMIT_REASON}
    if relation not in _REFUTES:
        return {"certified": False, "reason": f"unknown relation {relation!r}"}
    if relation == "const" and second is None:
        return {"certified": False, "reason": "a const refutation needs its second point"}
    if seconds <= 0:
        return {"certified": False, "reason": "no time left in the step's budget to certify"}
    started = time.monotonic()
    try:
        with alarm(seconds):
            return _certify(sp.sympify(lhs), sp.sympify(rhs), relation, counterexample, second,
                            started + seconds, max_nodes, precisions)
    except BudgetExceeded:
        return {"certified": False,
                "reason": f"interval evaluation did not finish within {seconds:g} s"}


def _certify(lhs, rhs, relation, point, second, deadline, max_nodes, precisions) -> dict[str, Any]:
    try:
        if relation == "const":
            sides = (prepare(lhs - rhs),)
        else:
            sides = (prepare(lhs), prepare(rhs))
    except LoweringError as exc:
        return {"certified": False, "reason": f"cannot be evaluated over intervals: {exc}"}
    size = _distinct_nodes(sides, max_nodes)
    if size > max_nodes:
        return {"certified": False,
                "reason": f"the prepared expression is too large to enclose (more than {max_nodes} "
                          "distinct subexpressions)"}
    test, says = _REFUTES[relation]
    quantity = "(lhs − rhs)(P1) − (lhs − rhs)(P2)" if relation == "const" else "lhs − rhs"
    last, problem = None, None
    for bits in precisions:
        if (last or problem) and time.monotonic() > deadline:
            break
        try:
            if relation == "const":
                a = enclose(sides[0], point, bits, prepared=True)
                b = enclose(sides[0], second, bits, prepared=True)
            else:
                a = enclose(sides[0], point, bits, prepared=True)
                b = enclose(sides[1], point, bits, prepared=True)
        except Unsupported as exc:  # no precision helps
            return {"certified": False, "reason": _reason(exc)}
        except CertificationError as exc:  # an interval too wide to decide: more bits may help
            problem = exc
            continue
        except BudgetExceeded:
            problem = problem or CertificationError(f"the enclosure at {bits} bits did not finish "
                                                    "within the time budget")
            break
        with _working_precision(bits):
            d = a - b
            lo, hi = libmp.mpf_sign(_lo(d)), libmp.mpf_sign(_hi(d))
            shown = {"lhs": show(a), "rhs": show(b), "difference": show(d)}
        last, problem = (bits, shown), None
        if test(lo, hi):
            return {"certified": True, "method": f"interval arithmetic (mpmath.iv, {bits} bits)",
                    "bits": bits, **shown, "quantity": quantity,
                    "excludes": "0" if relation in ("eq", "const") else "the relation",
                    "statement": f"{quantity} ∈ {shown['difference']}, which {says}"}
    if problem is not None or last is None:
        reason = _reason(problem) if problem is not None else "no precision was tried within the time budget"
        return {"certified": False, "reason": reason}
    bits, shown = last
    return {"certified": False, "bits": bits, **shown,
            "reason": f"the enclosure {quantity} ∈ {shown['difference']} does not show "
                      f"{quantity} {_NEEDS[relation]} (tried up to {bits} bits)"}


def _reason(exc: CertificationError) -> str:
    if isinstance(exc, Unsupported):
        return f"no interval enclosure for {exc}"
    if isinstance(exc, Singular):
        return f"no bounded real enclosure: {exc}"
    if isinstance(exc, Undecided):
        return f"a branch is not decided on the enclosure: {exc}"
    return str(exc)
