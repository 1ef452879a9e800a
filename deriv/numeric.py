"""The numeric screen: many points in float64 at once, every doubt settled at >= 50 digits.

Soundness rules (DESIGN §3, §4):
- float64 never decides anything on its own. A float mismatch only nominates a point; it is a
  counterexample only if the difference is *stable* when recomputed at 50 and at 80 digits
  (rounding noise changes with the precision, a real difference does not), is still there at
  320 (or 640) digits (two precisions can lose the same digits to one cancellation), and is
  larger than 1e-30 of the sides' magnitude (1e-15 absolute for sides beyond 1e15).
- agreement is also re-checked: a sample of agreeing points is recomputed at 50/80 digits, so
  functions that differ by 1e-10 relative are told apart.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

from .domain import Domain
from .fastpath import BACKENDS, Evaluator
from .lowering import Lowered, LoweringError, QuadratureUnreliable

FLOAT_POINTS = 2000
RTOL = 1e-8
ATOL = 1e-12
PRECISIONS = (50, 80)
EXTRA_PRECISION = 120  # only for points the first two cannot settle
REAL_DIFFERENCE = mpmath.mpf(10) ** -30  # relative size a stable difference must exceed
SCALE_CAP = mpmath.mpf(10) ** 15  # beyond this size, differences are measured against 1e15 ...
MAX_SHIFT = 2000  # ... with up to this many extra digits, so 1e64 + 1 ≠ 1e64
CONFIRM_FACTOR = 4  # a difference stable at 50 and 80 digits must also be there at 320 (or 640)
MAX_SUSPECTS = 12
AGREEING_SAMPLE = 6
MP_ONLY_POINTS = 16
HP_SECONDS = 20.0  # after this, no further points are re-checked (nested quadrature is slow)


@dataclass(frozen=True)
class Sampling:
    """How densely the float64 screen samples a step, and with which backend (fastpath.py)."""

    points: int = FLOAT_POINTS
    backend: str = "auto"

    def __post_init__(self):
        if self.points < 1:
            raise ValueError(f"points must be at least 1, not {self.points}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {self.backend!r}")


@dataclass(frozen=True)
class PointCheck:
    """One point recomputed at high precision."""

    point: dict[str, float]
    outcome: str  # "holds" | "fails" | "undefined" | "unresolved" | "tie" (equal sides, for < >)
    lhs: str = ""
    rhs: str = ""
    difference: str = ""
    digits: tuple[int, ...] = ()  # "fails": the precisions the difference was stable at

    def stable_at(self) -> str:
        """`stable at 50, 80 and 320 digits` (the precisions of a confirmed difference)."""
        digits = [str(d) for d in self.digits] or [str(p) for p in PRECISIONS]
        return f"stable at {', '.join(digits[:-1])} and {digits[-1]} digits"


@dataclass
class ScreenResult:
    outcome: str  # "agree" | "refuted" | "undefined" | "unavailable" | "unresolved"
    detail: str = ""
    counterexample: PointCheck | None = None
    float_points: int = 0
    undefined_points: int = 0
    hp_points: int = 0
    max_rel_err: float = 0.0
    suspects: int = 0  # float64 mismatches and one-sided undefined points
    notes: list[str] = field(default_factory=list)
    backend: str = "numpy"

    def evidence(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "float_points": self.float_points,
            "hp_points": self.hp_points,
            "hp_dps": list(PRECISIONS),
            "max_rel_err_float": self.max_rel_err,
            "undefined_points": self.undefined_points,
            "float_suspects": self.suspects,
            "float_backend": self.backend,
        }
        if self.counterexample is not None:
            data.update(lhs_value=self.counterexample.lhs, rhs_value=self.counterexample.rhs,
                        difference=self.counterexample.difference)
            if self.counterexample.digits:
                data["confirmed_dps"] = list(self.counterexample.digits)
        return data


# -- relations on values -------------------------------------------------------------------

def _float_fails(relation: str, L: np.ndarray, R: np.ndarray) -> np.ndarray:
    scale = np.maximum(np.abs(L), np.abs(R))
    tol = ATOL + RTOL * scale
    if relation == "eq":
        return np.abs(L - R) > tol
    if relation in ("le", "lt"):
        return L - R > tol
    if relation in ("ge", "gt"):
        return R - L > tol
    raise ValueError(relation)


def _badness(relation: str, L: np.ndarray, R: np.ndarray) -> np.ndarray:
    """How badly each point violates the relation (larger is worse): relative to the sides, or
    absolute where they are below 1 (a comparison with 0 has no relative error)."""
    scale = np.maximum(np.maximum(np.abs(L), np.abs(R)), 1.0)
    if relation == "eq":
        return np.abs(L - R) / scale
    if relation in ("le", "lt"):
        return (L - R) / scale
    return (R - L) / scale


class HighPrecision:
    """Evaluates both sides of a step with mpmath and decides single points."""

    def __init__(self, lhs: Lowered, rhs: Lowered, relation: str):
        self.relation = relation
        self.args = lhs.args
        self._lhs = lhs.mpmath_fn()
        self._rhs = rhs.mpmath_fn()

    def values(self, point: Sequence[float], dps: int):
        with mpmath.workdps(dps):
            args = [mpmath.mpf(v) for v in point]
            return _mp_value(self._lhs, args), _mp_value(self._rhs, args)

    def decide(self, point: Sequence[float]) -> PointCheck:
        """Decide one point: holds at the first precision that shows it; fails only if stable.

        A difference below REAL_DIFFERENCE of the sides' size at 50 digits settles "holds". A
        larger one is recomputed at 80 (and, if the two disagree, 120) digits: a real difference
        is the same at two precisions, rounding noise is not.
        """
        named = {str(s): float(v) for s, v in zip(self.args, point)}
        previous, previous_dps = None, None
        shift = None
        for base in PRECISIONS + (EXTRA_PRECISION,):
            dps = base + (shift or 0)
            try:
                L, R = self.values(point, dps)
            except QuadratureUnreliable as exc:
                return PointCheck(named, "unresolved", difference=str(exc))
            if L is None or R is None:
                return PointCheck(named, "undefined", _show(L), _show(R))
            if shift is None:
                # Huge sides: a difference of 1 between two numbers near 1e64 is a real difference,
                # invisible at 50 digits. Work with digits to spare beyond the sides' magnitude, and
                # measure differences against min(size, SCALE_CAP) instead of the size itself.
                shift = _precision_shift(max(abs(L), abs(R)))
                if shift is None:
                    return PointCheck(named, "unresolved", _show(L), _show(R),
                                      f"the sides are too large (~{mpmath.nstr(max(abs(L), abs(R)), 3)}) "
                                      f"to resolve a difference with {MAX_SHIFT} extra digits")
                if shift:
                    dps = base + shift
                    L, R = self.values(point, dps)
                    if L is None or R is None:
                        return PointCheck(named, "undefined", _show(L), _show(R))
            with mpmath.workdps(dps):
                d = L - R
                scale = min(max(abs(L), abs(R)), SCALE_CAP)
                shows = dict(lhs=_show(L), rhs=_show(R), difference=_show(d))
                # Rounding noise shrinks with the working precision; a real difference does not.
                # (Against an exact 0 -- a const step's derivative -- the sides' size says nothing
                # about the size of the terms that cancelled, so this is how such points settle.)
                noise = previous is not None and previous != 0 and \
                    abs(d) <= abs(previous) * mpmath.mpf(10) ** -((dps - previous_dps) // 2)
                tie = d == 0 or abs(d) <= REAL_DIFFERENCE * scale or noise
                if self.relation in ("lt", "gt") and tie:
                    # a tie: the strict relation can be neither confirmed nor refuted numerically
                    return PointCheck(named, "tie", **shows)
                if tie or self._holds(L, R, d, scale):
                    if self.relation == "eq" or tie or not (_is_complex(L) or _is_complex(R)):
                        return PointCheck(named, "holds", **shows)
                if self.relation != "eq" and (_is_complex(L) or _is_complex(R)):
                    return PointCheck(named, "unresolved", **shows)
                if previous is not None and abs(d - previous) <= mpmath.mpf(10) ** -10 * abs(d):
                    return self._confirm(point, named, d, (previous_dps, dps), shows)
                previous, previous_dps = d, dps
        return PointCheck(named, "unresolved", **shows)

    def _confirm(self, point, named, d, stable: tuple[int, int], shows: dict) -> PointCheck:
        """A difference stable at two precisions is real -- unless both lost every digit to the
        same cancellation (at x ~ 1e70, (1+x)^2 - x^2 - 2x is 0.0 at 50 and at 80 digits). So it
        must also survive CONFIRM_FACTOR times the digits; if it changes there, it is decided at
        the next doubling, or left unresolved."""
        previous, dps = d, stable[-1]
        for factor in (CONFIRM_FACTOR, 2 * CONFIRM_FACTOR):
            higher = dps * factor
            try:
                L, R = self.values(point, higher)
            except QuadratureUnreliable as exc:
                return PointCheck(named, "unresolved", difference=str(exc))
            if L is None or R is None:
                return PointCheck(named, "unresolved", _show(L), _show(R),
                                  f"undefined at {higher} digits after a difference at {dps}")
            with mpmath.workdps(higher):
                now = L - R
                if abs(now - previous) <= mpmath.mpf(10) ** -10 * abs(now):
                    return PointCheck(named, "fails", **shows, digits=(*stable, higher))
                scale = min(max(abs(L), abs(R)), SCALE_CAP)
                if now == 0 or abs(now) <= REAL_DIFFERENCE * scale:
                    # the "difference" was cancellation noise: the sides agree here
                    return PointCheck(named, "tie" if self.relation in ("lt", "gt") else
                                      ("holds" if self._holds(L, R, now, scale) else "unresolved"),
                                      _show(L), _show(R), _show(now))
                previous = now
        return PointCheck(named, "unresolved", _show(L), _show(R), _show(now))

    def _holds(self, L, R, d, scale) -> bool:
        small = d == 0 or abs(d) <= REAL_DIFFERENCE * scale
        if self.relation == "eq":
            return small
        if _is_complex(L) or _is_complex(R):
            return False
        signed = d if self.relation in ("le", "lt") else -d
        return small or signed <= 0


def _precision_shift(size) -> int | None:
    """Extra digits so that a difference of REAL_DIFFERENCE * SCALE_CAP stays far above the
    rounding noise of sides of this size (0 for sides up to SCALE_CAP); None if out of reach."""
    if not size > SCALE_CAP or not mpmath.isfinite(size):
        return 0
    shift = int(mpmath.ceil(mpmath.log10(size) - mpmath.log10(SCALE_CAP))) + 10
    return shift if shift <= MAX_SHIFT else None


def _mp_value(fn: Callable, args):
    try:
        value = fn(*args)
    except QuadratureUnreliable:
        raise
    except (ZeroDivisionError, ValueError, OverflowError, TypeError):
        return None
    value = mpmath.mpmathify(value)
    if isinstance(value, mpmath.mpc):
        if not (mpmath.isfinite(value.real) and mpmath.isfinite(value.imag)):
            return None
        if value.imag == 0:
            return value.real
        return value
    if not mpmath.isfinite(value):
        return None
    return value


def _is_complex(value) -> bool:
    return isinstance(value, mpmath.mpc)


def _show(value) -> str:
    if value is None:
        return "undefined"
    return mpmath.nstr(value, 25)


def _float_values(fn: Callable, arrays: list[np.ndarray], count: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = fn(*arrays)
    out = np.asarray(out)
    if np.iscomplexobj(out):
        out = np.where(np.abs(out.imag) <= 1e-300, out.real, np.nan)
    return np.broadcast_to(out.astype(float, copy=False), (count,)).copy()


def screen(lhs: sp.Expr, rhs: sp.Expr, relation: str, domain: Domain, seed: int,
           points: int = FLOAT_POINTS, search: bool | None = None,
           agreeing_sample: int = AGREEING_SAMPLE, max_suspects: int = MAX_SUSPECTS,
           hp_seconds: float = HP_SECONDS, backend: str = "auto") -> ScreenResult:
    """Sample the domain, nominate suspicious points in float64, decide them at high precision."""
    args = domain.symbols
    try:
        low_l, low_r = Lowered.of(lhs, args), Lowered.of(rhs, args)
    except LoweringError as exc:
        return ScreenResult("unavailable", str(exc))
    hp = HighPrecision(low_l, low_r, relation)
    if not args:  # a closed expression: one point, decided at high precision
        check = hp.decide(())
        return _conclude([check], ScreenResult("agree", float_points=0))

    samples = domain.sample(points, seed)
    arrays = [samples[s] for s in args]
    result = ScreenResult("agree", float_points=points)
    try:
        fl = Evaluator(low_l.expr, args, points, low_l.numpy_fn(), backend)
        fr = Evaluator(low_r.expr, args, points, low_r.numpy_fn(), backend)
        L = _float_values(fl, arrays, points)
        R = _float_values(fr, arrays, points)
        result.backend = fl.backend if fl.backend == fr.backend else f"lhs {fl.backend}, rhs {fr.backend}"
    except LoweringError as exc:
        result.notes.append(f"numpy: {exc}")
        return _mp_only(hp, domain, seed, result)
    except Exception as exc:  # noqa: BLE001 - a numpy lowering gap is not fatal; mpmath decides
        result.notes.append(f"numpy evaluation failed ({type(exc).__name__}: {exc}); mpmath only")
        return _mp_only(hp, domain, seed, result)

    finite_l, finite_r = np.isfinite(L), np.isfinite(R)
    both = finite_l & finite_r
    one_sided = finite_l ^ finite_r
    result.undefined_points = int((~finite_l & ~finite_r).sum())
    fails = np.zeros(points, dtype=bool)
    fails[both] = _float_fails(relation, L[both], R[both])
    bad = np.full(points, -np.inf)
    with np.errstate(all="ignore"):
        bad[both] = _badness(relation, L[both], R[both])
    agreeing = both & ~fails
    if agreeing.any() and relation == "eq":
        result.max_rel_err = float(np.max(np.abs(bad[agreeing]), initial=0.0))

    rng = np.random.default_rng(seed + 1)
    suspects = list(np.argsort(-bad)[: int(fails.sum())][:max_suspects])
    sided = np.flatnonzero(one_sided)
    suspects += list(rng.permutation(sided)[: max(1, max_suspects // 2)])
    if relation != "eq" and (search is None or search):
        suspects = _search_violations(fl, fr, relation, domain, samples, bad, seed) + suspects
    calm = np.flatnonzero(agreeing)
    # the agreeing points where float64 saw the largest (tolerated) difference first: a real
    # difference of 1e-10 relative that lives in a small region hides there, not at random points
    closest_calls = [i for i in calm[np.argsort(-bad[calm])][:2] if bad[i] > 0]
    others = [i for i in rng.permutation(calm) if i not in closest_calls]
    sample = closest_calls + others[: max(0, agreeing_sample - len(closest_calls))]
    if not calm.size and not suspects:
        undefined = ScreenResult("undefined", float_points=points, undefined_points=points)
        return _mp_only(hp, domain, seed, undefined)

    # the worst suspects and a few agreeing points first, then the rest while time allows
    order = suspects[:2] + sample[:2] + suspects[2:] + sample[2:]
    checks, started = [], time.monotonic()
    for index in order:
        if len(checks) >= 3 and time.monotonic() - started > hp_seconds:
            result.notes.append(f"high-precision re-checks stopped after {hp_seconds:g} s")
            break
        point = index if isinstance(index, tuple) else tuple(float(samples[s][index]) for s in args)
        checks.append(hp.decide(point))
        if checks[-1].outcome == "fails":
            break
    result.suspects = int(fails.sum()) + len(sided)
    return _conclude(checks, result)


def _mp_only(hp: HighPrecision, domain: Domain, seed: int, result: ScreenResult) -> ScreenResult:
    samples = domain.sample(MP_ONLY_POINTS, seed)
    checks = []
    for i in range(MP_ONLY_POINTS):
        checks.append(hp.decide(tuple(float(samples[s][i]) for s in domain.symbols)))
        if checks[-1].outcome == "fails":
            break
    result.float_points = 0
    result.notes.append(f"evaluated with mpmath only at {MP_ONLY_POINTS} points")
    return _conclude(checks, result)


def _conclude(checks: list[PointCheck], result: ScreenResult) -> ScreenResult:
    result.hp_points = len(checks)
    failed = [c for c in checks if c.outcome == "fails"]
    if failed:
        result.outcome, result.counterexample = "refuted", failed[0]
        return result
    held = [c for c in checks if c.outcome == "holds"]
    unresolved = [c for c in checks if c.outcome == "unresolved"]
    undefined = [c for c in checks if c.outcome == "undefined"]
    ties = [c for c in checks if c.outcome == "tie"]
    if ties:
        result.outcome = "unresolved"
        result.detail = (f"lhs = rhs to {PRECISIONS[0]} digits at {len(ties)} sampled point(s), e.g. "
                         f"{ties[0].point}: a strict inequality cannot be confirmed there "
                         "(a proof that lhs − rhs ≡ 0 would refute it)")
        return result
    if unresolved:
        result.outcome = "unresolved"
        first = unresolved[0]
        values = f"lhs={first.lhs}, rhs={first.rhs}" if first.lhs else first.difference
        result.detail = (f"{len(unresolved)} point(s) could not be decided at {PRECISIONS} digits, "
                         f"e.g. {first.point}: {values}")
        return result
    if not held:
        result.outcome = "undefined"
        example = undefined[0].point if undefined else {}
        result.detail = f"both sides are undefined or non-finite at every sampled point (e.g. {example})"
        return result
    result.outcome = "agree"
    return result


def _search_violations(fl: Callable, fr: Callable, relation: str, domain: Domain,
                       samples: dict, bad: np.ndarray, seed: int, rounds: int = 40,
                       keep: int = 16) -> list[tuple[float, ...]]:
    """Local search that climbs `lhs - rhs` (for <=) from the worst sampled points."""
    args = domain.symbols
    order = np.argsort(-bad)[:keep]
    current = np.stack([samples[s][order] for s in args], axis=1)
    scores = bad[order].copy()
    lows = np.array([lo for _, lo, _ in domain.intervals])
    highs = np.array([hi for _, _, hi in domain.intervals])
    width = highs - lows
    rng = np.random.default_rng(seed + 2)
    step = 0.1
    for _ in range(rounds):
        trial = current + rng.normal(size=current.shape) * width * step
        trial = np.clip(trial, np.nextafter(lows, highs), np.nextafter(highs, lows))
        cols = [trial[:, j] for j in range(len(args))]
        L = _float_values(fl, cols, len(trial))
        R = _float_values(fr, cols, len(trial))
        with np.errstate(all="ignore"):
            new = _badness(relation, L, R)
        better = np.isfinite(new) & (new > scores)
        current[better], scores[better] = trial[better], new[better]
        step = max(step * 0.85, 1e-6)
    ranked = np.argsort(-scores)
    return [tuple(float(v) for v in current[i]) for i in ranked[:4] if scores[i] > -math.inf]
