"""`deriv plot DERIVATION STEP`: both sides of one step over one real variable, to a PNG file.

The sides are evaluated with mpmath (30 digits, checked at 50 and, where needed, 80), never in
float64: a step like the max-entropy gradient of line 77 is a difference of two terms of size
1/m, and float64 turns it into noise near m = 0. A point where a side is undefined, or where its
value does not settle between two precisions, is a gap in the curve.

`plot_data` returns the sampled arrays (no matplotlib needed); `render` draws them with the
Agg backend of matplotlib's object-oriented API (no pyplot, no display); `main` is the command.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

from . import prob
from .domain import Domain, stable_seed
from .lowering import LoweringError, compile_expr, prepare
from .model import RELATION_SYMBOLS, Derivation, Step

HELP = """\
Plot both sides of one step of a derivation over one real variable, and their difference,
to a PNG file, so a refuted step shows where the sides part.

  deriv plot max-entropy/gradient 12           # the limit of line 82: the approach to 0 at m → 0
  deriv plot max-entropy/gradient line:77 --log-x   # the step citing document line 77
  deriv plot family 2 --var m                  # x is fixed at the middle of its interval
  deriv plot cross-entropy/identity 4 --var a_q__0   # a probability step, over one logit
  deriv plot mine 3 --from my_derivations.py -o step3.png

DERIVATION is a derivation id, or a unique case-insensitive part of one. STEP is the step's
number (the report's # column), or line:N / LN for the (first) step citing document line N.

Values are computed with mpmath at 30 digits and re-computed at 50 (and 80 where they do not
agree), never in float64: points where a side is undefined or does not settle are gaps.
Other variables are fixed at the middle of their interval (the logits of a probability step at
a seeded random point), or at the counterexample of a refuted verdict in the verdict cache.
A limit step is plotted against the distance from its point, on a log axis, with the limit as a
horizontal line.

Needs matplotlib: pip install 'deriv[plot]'. No display is used (matplotlib's Agg backend).
Exit status: 0 the PNG was written; 1 the step cannot be evaluated; 2 usage error (unknown or
ambiguous derivation, no such step, no single real variable, matplotlib missing).
"""

DPS = 30                 # working precision of every plotted value
CHECK_DPS = (50, 80)     # a value is kept only if a higher precision agrees with it
AGREE_RELATIVE = 1e-12   # agreement between two precisions, relative to the value ...
AGREE_SCALE = 1e-20      # ... or to the largest value of the curve (invisible on any axis)
ZERO_SCALE = 1e-18       # |lhs − rhs| below this fraction of the sides: zero to working precision
DEFAULT_POINTS = 400
MIN_AUTO_POINTS = 60
TIME_BUDGET = 20.0       # seconds of evaluation the default point count may take
CHEAP_POINT = 0.002      # seconds per point below which every point is re-checked at 50 digits
LIMIT_DECADES = 9        # a limit is approached from width down to width * 1e-9
BOX = {"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9, "boxstyle": "round,pad=0.3"}
MATPLOTLIB_MISSING = "deriv plot needs matplotlib: pip install 'deriv[plot]'"


class PlotError(Exception):
    """A step cannot be plotted as asked; `status` is the exit status (2 usage, 1 evaluation)."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


@dataclass
class PlotData:
    """What `render` draws; all values computed at >= 30 digits, rounded to float64 only here.

    Relation steps: `x` the plotted variable, `lhs`, `rhs`, `difference` (lhs − rhs, or for a
    const step lhs − rhs minus its value at `reference`). Limit steps: `x` the distance from the
    point, `approach[side]` the expression at point + x ("+") or point − x ("−"), and `gap[side]`
    its difference from `limit_value`. NaN marks a gap (undefined, or not settled by precision).
    """

    derivation: str
    file: str | None
    step: int
    line: int | None
    kind: str
    relation: str
    var: str
    x: np.ndarray
    log_x: bool
    claim: str
    lhs: np.ndarray | None = None
    rhs: np.ndarray | None = None
    difference: np.ndarray | None = None
    difference_label: str = "lhs − rhs"
    reference: float | None = None
    approach: dict[str, np.ndarray] = field(default_factory=dict)
    gap: dict[str, np.ndarray] = field(default_factory=dict)
    point: float | None = None
    limit_value: float | None = None
    fixed: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    counterexample: dict[str, float] | None = None  # x, lhs, rhs at the marked point
    unsettled: int = 0
    undefined: int = 0
    dps: int = DPS

    @property
    def scale(self) -> float:
        arrays = [a for a in (self.lhs, self.rhs, *self.approach.values()) if a is not None]
        finite = np.concatenate([np.abs(a[np.isfinite(a)]) for a in arrays]) if arrays else np.array([])
        return float(finite.max()) if finite.size else 0.0

    @property
    def zero_difference(self) -> bool:
        """lhs − rhs is zero to working precision at every plotted point."""
        if self.difference is None:
            return False
        finite = self.difference[np.isfinite(self.difference)]
        return bool(finite.size) and float(np.abs(finite).max()) <= ZERO_SCALE * max(self.scale, 1e-300)


# -- finding the derivation and the step ------------------------------------------------------

def find_derivation(found: Sequence[tuple[Path, Derivation]], name: str) -> tuple[Path, Derivation, str]:
    """The derivation `name` names: its id exactly, else the one id containing it (any case)."""
    exact = [(p, d) for p, d in found if d.id == name]
    if exact:
        note = "" if len(exact) == 1 else (f"{len(exact)} derivations have the id {name!r}; "
                                           f"using the first, in {exact[0][0]}")
        return exact[0][0], exact[0][1], note
    needle = name.lower()
    matches = [(p, d) for p, d in found if needle in d.id.lower()]
    if len({d.id for _, d in matches}) == 1:
        return matches[0][0], matches[0][1], ""
    if not matches:
        ids = sorted({d.id for _, d in found})
        shown = "\n  ".join(ids) if ids else "(none loaded)"
        raise PlotError(f"no derivation matches {name!r}; the derivations are:\n  {shown}")
    ids = sorted({d.id for _, d in matches})
    raise PlotError(f"{name!r} matches {len(ids)} derivations; give one of:\n  " + "\n  ".join(ids))


def find_step(derivation: Derivation, spec: str) -> tuple[Step, str]:
    """The step `spec` names: its number, or `line:N` / `LN` for the first step citing line N."""
    text = spec.strip()
    lowered = text.lower()
    line = None
    if lowered.startswith("line:"):
        line = lowered[5:]
    elif lowered.startswith("l") and lowered[1:].isdigit():
        line = lowered[1:]
    if line is not None:
        if not line.strip().isdigit():
            raise PlotError(f"bad STEP {spec!r}: write a step number, line:N or LN")
        n = int(line)
        citing = [s for s in derivation.steps if s.line == n]
        if not citing:
            raise PlotError(f"no step of {derivation.id} cites line {n}\n" + step_listing(derivation))
        note = ""
        if len(citing) > 1:
            note = (f"steps {', '.join(str(s.index) for s in citing)} cite line {n}; plotting the first, "
                    f"step {citing[0].index} (give its number to choose another)")
        return citing[0], note
    if not text.lstrip("-").isdigit():
        raise PlotError(f"bad STEP {spec!r}: write a step number, line:N or LN")
    index = int(text)
    if not 1 <= index <= len(derivation.steps):
        raise PlotError(f"step {index} is out of range: {derivation.id} has {len(derivation.steps)} "
                        f"step{'s' if len(derivation.steps) != 1 else ''}\n" + step_listing(derivation))
    return derivation.steps[index - 1], ""


def step_listing(derivation: Derivation) -> str:
    rows = [f"  {'#':>3}  {'line':>5}  relation"]
    for s in derivation.steps:
        line = "" if s.line is None else str(s.line)
        tags = [t for t in ("expected refuted" if s.expect else "", "corrected" if s.correction_of else "") if t]
        rows.append(f"  {s.index:>3}  {line:>5}  {s.relation}" + (f" ({', '.join(tags)})" if tags else ""))
    return "\n".join(rows)


# -- evaluation ---------------------------------------------------------------------------------

def _clean(value, dps: int):
    """An mpf, or None if the value is undefined, infinite, or complex beyond rounding."""
    try:
        value = mpmath.mpmathify(value)
    except (TypeError, ValueError):
        return None
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) <= mpmath.mpf(10) ** (-dps + 5) * max(1, abs(value.real)):
            value = value.real
        else:
            return None
    if not mpmath.isfinite(value):
        return None
    return +value


class _Curve:
    """One compiled expression evaluated at a list of argument tuples, precision-checked."""

    def __init__(self, fn: Callable, points: list[tuple[float, ...]]):
        self.fn = fn
        self.points = points
        self.values: list[Any] = [None] * len(points)
        self.error: str | None = None
        self.unsettled = 0

    def at(self, i: int, dps: int):
        with mpmath.workdps(dps):
            try:
                return _clean(self.fn(*[mpmath.mpf(v) for v in self.points[i]]), dps)
            except Exception as exc:  # noqa: BLE001 - any failure of one point is a gap at that point
                if self.error is None:
                    self.error = f"{type(exc).__name__}: {exc}"
                return None


def _agree(low, high, scale) -> bool:
    if low is None or high is None:
        return low is None and high is None
    return abs(low - high) <= max(AGREE_RELATIVE * abs(high), AGREE_SCALE * scale)


def _settle(curves: list[_Curve], check_all: bool) -> None:
    """Evaluate every curve at DPS, re-check at CHECK_DPS[0] (every point, or a spread of them
    when points are expensive; then every point if one disagrees), and re-compute points that
    still disagree at CHECK_DPS[1]. A point that does not settle becomes a gap."""
    for curve in curves:
        n = len(curve.points)
        low = [curve.values[i] if curve.values[i] is not None else curve.at(i, DPS) for i in range(n)]
        finite = [abs(v) for v in low if v is not None]
        scale = max(finite) if finite else mpmath.mpf(0)
        if check_all or n <= 64:
            checked = list(range(n))
        else:
            spread = set(np.linspace(0, n - 1, 32).round().astype(int).tolist())
            checked = sorted(spread | set(range(4)) | set(range(n - 4, n)))
        high = {i: curve.at(i, CHECK_DPS[0]) for i in checked}
        if not check_all and any(not _agree(low[i], high[i], scale) for i in checked):
            high.update({i: curve.at(i, CHECK_DPS[0]) for i in range(n) if i not in high})
        values = list(low)
        for i, v in high.items():
            if _agree(low[i], v, scale):
                values[i] = v
                continue
            top = curve.at(i, CHECK_DPS[1])
            if top is not None and _agree(v, top, scale):
                values[i] = top
            else:
                values[i] = None
                curve.unsettled += 1
        curve.values = values


def _floats(values) -> np.ndarray:
    return np.array([float(v) if v is not None else np.nan for v in values], dtype=float)


def _difference(lhs: list, rhs: list) -> list:
    with mpmath.workdps(CHECK_DPS[1]):
        return [a - b if a is not None and b is not None else None for a, b in zip(lhs, rhs)]


def _grid(low: float, high: float, n: int, log: bool) -> np.ndarray:
    """n interior points of the open interval (low, high), evenly spaced (or log-spaced)."""
    fractions = (np.arange(n) + 0.5) / n
    if log:
        return np.exp(np.log(low) + (np.log(high) - np.log(low)) * fractions)
    return low + (high - low) * fractions


def _compile(expr, args, where: str) -> Callable:
    try:
        return compile_expr(prepare(expr), args, "mpmath")
    except (LoweringError, ValueError, TypeError, NotImplementedError) as exc:
        raise PlotError(f"{where}: cannot evaluate: {type(exc).__name__}: {exc}", status=1) from exc


def _point_budget(curves_for: Callable[[int], list[_Curve]], points: int | None) -> tuple[int, bool, str]:
    """How many points to draw and whether to re-check all of them: time three points first."""
    probe = curves_for(3)
    start = time.monotonic()
    for curve in probe:
        for i in range(len(curve.points)):
            curve.at(i, DPS)
    per_point = (time.monotonic() - start) / 3
    check_all = per_point < CHEAP_POINT
    note = ""
    if points is None:
        points = DEFAULT_POINTS
        # cheap points are all re-checked at 50 digits (~2.5x the cost of 30); expensive ones
        # at a spread of ~40 points
        cost, fixed_cost = (per_point * 3.5, 0.0) if check_all else (per_point, 40 * 2.5 * per_point)
        if fixed_cost + cost * points > TIME_BUDGET:
            points = max(MIN_AUTO_POINTS, int((TIME_BUDGET - fixed_cost) / cost))
            note = (f"{points} points ({per_point:.2f} s per point at {DPS} digits; "
                    f"--points N to insist on more)")
    return points, check_all, note


# -- the step as one real variable ------------------------------------------------------------

@dataclass
class _Setup:
    """The step reduced to plain sympy over named real symbols with their intervals."""

    lhs: Any
    rhs: Any
    symbols: dict[str, sp.Symbol]
    intervals: dict[str, tuple[float, float]]
    default_var: str | None
    fixed: dict[str, float]
    fixed_how: str
    notes: list[str]
    params: set[str] | None  # for const steps: the names the constant must not depend on
    counterexample: dict[str, float] | None
    no_var_message: str


def _where(step: Step, derivation: Derivation, file) -> str:
    line = f"line {step.line}" if step.line is not None else "no line"
    return f"{file or '?'}: {derivation.id} step {step.index} ({line})"


def _cached_verdict(step: Step, derivation: Derivation):
    """The verdict `deriv verify` stored for this step, if any (nothing is checked here)."""
    try:
        from .cache import VerdictCache
        from .numeric import Sampling
        from .runner import cached_step
        result = cached_step(step, derivation, VerdictCache(), Sampling())
    except Exception:  # noqa: BLE001 - the cache is a convenience; a plot never fails on it
        return None
    return None if result is None else result.verdict


def _refuted_point(verdict) -> dict[str, float] | None:
    if verdict is None or str(verdict.status) != "refuted" or not verdict.counterexample:
        return None
    try:
        return {str(k): float(v) for k, v in verdict.counterexample.items()}
    except (TypeError, ValueError):
        return None


def _expand_certificates(expr):
    from .probcheck import Jensen
    return sp.sympify(expr).replace(lambda e: isinstance(e, Jensen), lambda e: e.expanded())


def _setup_plain(step: Step, derivation: Derivation, use_cache: bool) -> _Setup:
    exprs = [sp.sympify(step.lhs), sp.sympify(step.rhs)]
    symbols = set().union(*(e.free_symbols for e in exprs))
    if step.kind == "limit":
        symbols.add(step.var)
    domain = Domain.build(symbols, {**derivation.domain, **(step.domain or {})})
    by_name = {s.name: s for s in domain.symbols}
    intervals = {s.name: (lo, hi) for s, lo, hi in domain.intervals}
    fixed = {name: (lo + hi) / 2 for name, (lo, hi) in intervals.items()}
    how = "the middle of its interval"
    counterexample = None
    if use_cache and step.kind != "limit":
        ce = _refuted_point(_cached_verdict(step, derivation))
        if ce and set(ce) >= set(by_name):
            counterexample, fixed, how = ce, {n: ce[n] for n in by_name}, "the cached counterexample"
    params = {s.name for s in step.wrt} if step.relation == "const" else None
    names = sorted(by_name)
    default = names[0] if len(names) == 1 else None
    if step.kind == "limit":
        default = step.var.name
    if not names:
        message = "both sides are numbers"
    else:
        message = (f"this step has {len(names)} free variables: {', '.join(names)}; use --var with one "
                   "of them (the others are fixed at the middle of their intervals)")
    return _Setup(exprs[0], exprs[1], by_name, intervals, default, fixed, how, [], params,
                  counterexample, message)


def _instance_plan(lhs, rhs):
    vars = prob.index_vars(lhs, rhs)
    free = prob.free_indices(lhs, rhs)
    prove, sample = prob.size_plan(vars)
    for sizes, proving in [(s, True) for s in prove] + [(s, False) for s in sample]:
        for assignment in prob.free_assignments(free, sizes, limit=2 if proving else 1):
            yield sizes, assignment


def _label(sizes, assignment) -> str:
    return prob.Instance(tuple((v.name, sizes[v]) for v in sorted(sizes, key=lambda s: s.name)),
                         tuple((v.name, assignment[v]) for v in sorted(assignment, key=lambda s: s.name)),
                         sp.Integer(0), sp.Integer(0), (), (), {}, {}).label()


def _setup_prob(step: Step, derivation: Derivation, use_cache: bool, where: str) -> _Setup:
    lhs, rhs = _expand_certificates(step.lhs), _expand_certificates(step.rhs)
    plan = list(_instance_plan(lhs, rhs))
    sizes, assignment = plan[0]
    verdict = _cached_verdict(step, derivation) if use_cache else None
    ce = _refuted_point(verdict)
    at = verdict.evidence.get("sizes") if ce else None
    if at:
        for candidate in plan:
            if _label(*candidate) == at:
                sizes, assignment = candidate
                break
        else:
            ce = None
    try:
        instance = prob.instantiate(lhs, rhs, sizes, assignment)
    except (ValueError, TypeError, KeyError) as exc:
        raise PlotError(f"{where}: cannot make the step concrete at {_label(sizes, assignment)}: "
                        f"{type(exc).__name__}: {exc}", status=1) from exc
    # only the logits the sides use at these sizes and index values (q(z|x=1) is absent at x = 0)
    used = sp.sympify(instance.lhs).free_symbols | sp.sympify(instance.rhs).free_symbols
    domain = {s: interval for s, interval in instance.domain().items() if s in used}
    by_name = {s.name: s for s in domain}
    intervals = {s.name: tuple(map(float, domain[s])) for s in domain}
    # a corrected step is drawn at the same point as the step it corrects
    rng = np.random.default_rng(stable_seed(derivation.id, step.correction_of or step.index, "plot"))
    fixed = {name: float(rng.uniform(*intervals[name])) for name in sorted(by_name)}
    how = "a seeded random point"
    if ce and set(ce) >= set(by_name):
        fixed, how = {n: ce[n] for n in by_name}, "the cached counterexample"
    else:
        ce = None
    params = sorted(str(p) for p in instance.extra_domain if p in domain)
    logits = [s.name for s in instance.model_logits + instance.data_logits if s in domain]
    default = params[0] if len(params) == 1 else None
    notes = [f"at sizes {instance.label()} (the smallest size deriv proves at)" if not ce
             else f"at sizes {instance.label()} (where the cached counterexample was found)"]
    shown = ", ".join(logits[:12]) + (f", … ({len(logits)} in all)" if len(logits) > 12 else "")
    message = (f"this step has no single real variable: {len(logits)} logits at sizes "
               f"{instance.label()}; use --var with one of {shown}")
    wrt = None
    if step.relation == "const":
        model = [s.name for s in instance.model_logits]
        if step.wrt:
            names = {t.name if isinstance(t, prob.Table) else str(t) for t in step.wrt}
            model = [s.name for s in instance.model_logits + instance.data_logits
                     if prob.table_of_logit(s) in names]
        wrt = set(model)
    return _Setup(instance.lhs, instance.rhs, by_name, intervals, default, fixed, how, notes, wrt, ce,
                  message)


# -- plot_data ----------------------------------------------------------------------------------

def plot_data(step: Step, derivation: Derivation, *, var: str | None = None,
              range: tuple[float, float] | None = None, points: int | None = None,
              log_x: bool = False, file: str | Path | None = None, use_cache: bool = True) -> PlotData:
    """Sample both sides of `step` over one real variable (see the module docstring).

    `points` None: DEFAULT_POINTS, fewer if evaluating them would take more than TIME_BUDGET.
    `range` overrides the variable's interval (for a limit: the distances from the point).
    Raises PlotError when the step cannot be plotted as asked.
    """
    where = _where(step, derivation, file)
    if step.kind == "experiment":
        raise PlotError(f"{where} is an experiment ({step.claim!r}): it runs code and has no "
                        "expressions to plot")
    if points is not None and points < 2:
        raise PlotError("--points must be at least 2")
    if range is not None:
        range = (float(range[0]), float(range[1]))
        if not range[0] < range[1]:
            raise PlotError(f"--range {range[0]:g} {range[1]:g}: LO must be below HI")
    probabilistic = step.kind != "limit" and prob.is_probabilistic(step.lhs, step.rhs)
    try:
        setup = (_setup_prob(step, derivation, use_cache, where) if probabilistic
                 else _setup_plain(step, derivation, use_cache))
    except ValueError as exc:  # an empty or contradictory sampling interval
        raise PlotError(f"{where}: {exc}") from exc
    if step.kind == "limit" and var is not None and var != step.var.name:
        raise PlotError(f"{where} is a limit in {step.var.name}; it is plotted against {step.var.name}, "
                        f"not {var}")
    chosen = var or setup.default_var
    if chosen is None:
        if not setup.symbols:
            values = _constant_values(setup, where)
            raise PlotError(f"{where} has no free variable: {values}")
        raise PlotError(f"{where}: {setup.no_var_message}")
    if chosen not in setup.symbols:
        names = sorted(setup.symbols)
        shown = ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "")
        raise PlotError(f"{where}: --var {chosen}: not a variable of this step; it has {shown or 'none'}")
    others = [n for n in sorted(setup.symbols) if n != chosen]
    fixed = {n: setup.fixed[n] for n in others}
    args = (setup.symbols[chosen], *(setup.symbols[n] for n in others))
    notes = list(setup.notes)
    if fixed:
        notes.append(_fixed_note(fixed, setup.fixed_how))
    if step.kind == "limit":
        return _limit_data(step, derivation, setup, chosen, args, fixed, notes, range, points, log_x,
                           where, file)
    return _relation_data(step, derivation, setup, chosen, args, fixed, notes, range, points, log_x,
                          where, file, probabilistic)


def _fixed_note(fixed: dict[str, float], how: str) -> str:
    shown = ", ".join(f"{k} = {v:.6g}" for k, v in list(fixed.items())[:8])
    more = f", … ({len(fixed)} values)" if len(fixed) > 8 else ""
    return f"fixed at {how}: {shown}{more}"


def _constant_values(setup: _Setup, where: str) -> str:
    out = []
    for name, side in (("lhs", setup.lhs), ("rhs", setup.rhs)):
        curve = _Curve(_compile(side, (), where), [()])
        value = curve.at(0, DPS)
        out.append(f"{name} = {mpmath.nstr(value, 12) if value is not None else 'undefined'}")
    return "both sides are numbers (" + ", ".join(out) + ")"


def _claim(step: Step) -> str:
    if step.kind == "limit":
        arrow = {"+": "⁺", "-": "⁻"}.get(step.direction, "")
        return f"lim {step.var}→{step.point}{arrow} of lhs = {step.rhs}"
    return f"lhs {RELATION_SYMBOLS.get(step.relation, step.relation)} rhs"


def _relation_data(step, derivation, setup: _Setup, chosen, args, fixed, notes, range, points, log_x,
                   where, file, probabilistic) -> PlotData:
    low, high = range or setup.intervals[chosen]
    if log_x and low <= 0:
        if high <= 0:
            raise PlotError(f"--log-x needs a positive range; {chosen} runs over ({low:g}, {high:g}): "
                            "give --range LO HI with LO > 0")
        notes.append(f"--log-x: {chosen} from {high * 1e-6:.3g} (its interval starts at {low:g})")
        low = high * 1e-6
    fns = [_compile(setup.lhs, args, f"{where}, left-hand side"),
           _compile(setup.rhs, args, f"{where}, right-hand side")]
    rest = tuple(fixed.values())

    def curves_for(n):
        xs = _grid(low, high, n, log_x)
        return [_Curve(fn, [(float(v), *rest) for v in xs]) for fn in fns]

    n, check_all, budget_note = _point_budget(curves_for, points)
    if budget_note:
        notes.append(budget_note)
    xs = _grid(low, high, n, log_x)
    counterexample = None
    ce = setup.counterexample
    if ce is not None and chosen in ce and low < ce[chosen] < high:
        xs = np.sort(np.append(xs, ce[chosen]))
    curves = [_Curve(fn, [(float(v), *rest) for v in xs]) for fn in fns]
    _settle(curves, check_all)
    lhs_values, rhs_values = curves[0].values, curves[1].values
    if all(v is None for v in lhs_values) or all(v is None for v in rhs_values):
        side = "left" if all(v is None for v in lhs_values) else "right"
        why = (curves[0] if side == "left" else curves[1]).error or "no real value"
        raise PlotError(f"{where}: the {side}-hand side has no value anywhere on {chosen} ∈ "
                        f"({low:g}, {high:g}): {why}", status=1)
    difference = _difference(lhs_values, rhs_values)
    label = "lhs − rhs"
    reference = None
    if step.relation == "const":
        reference = float(np.exp((np.log(low) + np.log(high)) / 2)) if log_x else (low + high) / 2
        mid = [_Curve(fn, [(reference, *rest)]) for fn in fns]
        _settle(mid, True)
        base = _difference(mid[0].values, mid[1].values)[0]
        if base is None:
            notes.append(f"const step: lhs − rhs is undefined at {chosen} = {reference:.6g}; "
                         "plotting lhs − rhs itself")
        else:
            with mpmath.workdps(CHECK_DPS[1]):
                difference = [d - base if d is not None else None for d in difference]
            label = "lhs − rhs − c"
            notes.append(f"const step: c = lhs − rhs at {chosen} = {reference:.6g}; the claim is that "
                         f"lhs − rhs − c stays 0 as {chosen} changes")
        if setup.params is not None and chosen not in setup.params:
            what = "data" if probabilistic else "not a parameter"
            notes.append(f"{chosen} is {what} of this const step: its constant may depend on {chosen}")
    if ce is not None and chosen in ce:
        index = int(np.argmin(np.abs(xs - ce[chosen])))
        if xs[index] == ce[chosen]:
            counterexample = {"x": float(ce[chosen]), "lhs": _as_float(lhs_values[index]),
                              "rhs": _as_float(rhs_values[index])}
            notes.append(f"marked: the counterexample of the cached refuted verdict, {chosen} = "
                         f"{ce[chosen]:.6g} (--no-cache to ignore it)")
        else:
            notes.append(f"the cached counterexample {chosen} = {ce[chosen]:.6g} is outside the plotted range")
    data = PlotData(derivation.id, str(file) if file else None, step.index, step.line, step.kind,
                    step.relation, chosen, xs, log_x, _claim(step), lhs=_floats(lhs_values),
                    rhs=_floats(rhs_values), difference=_floats(difference), difference_label=label,
                    reference=reference, fixed=fixed, notes=notes, counterexample=counterexample)
    _count(data, curves)
    return data


def _as_float(v) -> float:
    return float(v) if v is not None else float("nan")


def _count(data: PlotData, curves: list[_Curve]) -> None:
    data.unsettled = sum(c.unsettled for c in curves)
    data.undefined = sum(1 for c in curves for v in c.values if v is None) - data.unsettled
    if data.unsettled:
        data.notes.append(f"{data.unsettled} values did not settle between {CHECK_DPS[0]} and "
                          f"{CHECK_DPS[1]} digits (gaps)")


def _limit_data(step, derivation, setup: _Setup, chosen, args, fixed, notes, range, points, log_x,
                where, file) -> PlotData:
    point, value = sp.sympify(step.point), sp.sympify(step.rhs)
    lo, hi = setup.intervals[chosen]
    infinite = point in (sp.oo, -sp.oo)
    if infinite:
        sides = ["+"] if point == sp.oo else ["-"]
        low, high = range or (1.0, 1e10)
    else:
        p = float(point)
        sides = {"+": ["+"], "-": ["-"]}.get(step.direction, ["+", "-"])
        width = {"+": hi - p if hi > p else hi - lo, "-": p - lo if lo < p else hi - lo}
        w = max(width[s] for s in sides)
        low, high = range or (w * 10.0 ** -LIMIT_DECADES, w)
    if low <= 0:
        raise PlotError(f"--range {low:g} {high:g}: a limit is plotted against the distance from its "
                        "point, so LO must be positive")
    fn = _compile(setup.lhs, args, f"{where}, the expression")
    rest = tuple(fixed.values())

    def at(distance, side):
        if infinite:
            return distance if side == "+" else -distance
        return p + distance if side == "+" else p - distance

    def curves_for(n):
        xs = _grid(low, high, n, True)
        return [_Curve(fn, [(at(float(d), s), *rest) for d in xs]) for s in sides]

    n, check_all, budget_note = _point_budget(curves_for, points)
    if budget_note:
        notes.append(budget_note)
    xs = _grid(low, high, n, True)
    curves = [_Curve(fn, [(at(float(d), s), *rest) for d in xs]) for s in sides]
    _settle(curves, check_all)
    if all(v is None for c in curves for v in c.values):
        why = next((c.error for c in curves if c.error), "no real value")
        raise PlotError(f"{where}: the expression has no value near {chosen} = {point}: {why}", status=1)
    limit_value = None
    if value.is_finite:
        try:
            limit_value = float(sp.N(value, 20))
        except (TypeError, ValueError):
            notes.append(f"the claimed limit {value} is not a real number")
    approach, gap = {}, {}
    for side, curve in zip(sides, curves):
        approach[side] = _floats(curve.values)
        if limit_value is not None:
            with mpmath.workdps(CHECK_DPS[1]):
                target = mpmath.mpf(sp.N(value, CHECK_DPS[1]))
                gap[side] = _floats([v - target if v is not None else None for v in curve.values])
    data = PlotData(derivation.id, str(file) if file else None, step.index, step.line, step.kind,
                    step.relation, chosen, xs, True, _claim(step), approach=approach, gap=gap,
                    point=None if infinite else p, limit_value=limit_value, fixed=fixed, notes=notes)
    _count(data, curves)
    return data


# -- drawing ------------------------------------------------------------------------------------

def _text(s: str) -> str:
    """Plain text for matplotlib (a `$` would start mathtext)."""
    return s.replace("$", r"\$")


def _short(expr, width: int = 90) -> str:
    text = str(expr)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(data: PlotData, path: str | Path, step: Step | None = None) -> Path:
    """Draw `data` to a PNG file with the Agg canvas (no display, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7.5), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    where = f"line {data.line}" if data.line is not None else "no line"
    title = f"{data.derivation} — step {data.step} ({where}): {data.claim}"
    if step is not None and step.expect == "refuted":
        title += "   [a mistake of the document: expected refuted]"
    elif step is not None and step.correction_of:
        title += f"   [the correction of step {step.correction_of}]"
    subtitle = ""
    if step is not None and step.kind == "relation":
        subtitle = (f"lhs = {_short(step.lhs)}\nrhs = {_short(step.rhs)}")
    elif step is not None and step.kind == "limit":
        subtitle = f"lhs = {_short(step.lhs)}"
    fig.suptitle(_text(title + ("\n" + subtitle if subtitle else "")), fontsize=10, ha="left", x=0.06)
    if data.kind == "limit":
        _draw_limit(data, top, bottom)
    else:
        _draw_relation(data, top, bottom)
    for ax in (top, bottom):
        if data.log_x:
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
    footer = [f"values at {data.dps} digits, checked at {CHECK_DPS[0]} (mpmath); gaps: undefined or unsettled"]
    footer += data.notes
    footer = [wrapped for line in footer for wrapped in textwrap.wrap(line, 140) or [""]]
    fig.text(0.06, 0.01, _text("\n".join(footer)), fontsize=8, va="bottom", ha="left", color="0.25")
    bottom_margin = 0.08 + 0.018 * len(footer)
    top_margin = 0.88 if subtitle.count("\n") else 0.9
    fig.subplots_adjust(left=0.1, right=0.97, top=top_margin - (0.02 if subtitle else 0),
                        bottom=bottom_margin, hspace=0.12)
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def _draw_relation(data: PlotData, top, bottom) -> None:
    symbol = RELATION_SYMBOLS.get(data.relation, data.relation)
    top.plot(data.x, data.lhs, color="tab:blue", lw=2.2, label="lhs")
    top.plot(data.x, data.rhs, color="tab:orange", lw=1.6, ls="--", label=f"rhs  (claimed: lhs {symbol} rhs)")
    top.set_ylabel("value")
    ce = data.counterexample
    if ce:
        top.plot([ce["x"], ce["x"]], [ce["lhs"], ce["rhs"]], "x", color="red", ms=9, mew=2,
                 label=f"counterexample {data.var} = {ce['x']:.6g} (cached verdict)")
        for ax in (top, bottom):
            ax.axvline(ce["x"], color="red", lw=0.8, ls=":")
    top.legend(loc="best", fontsize=9)
    d = data.difference
    bottom.axhline(0.0, color="0.5", lw=0.8)
    bottom.plot(data.x, d, color="black", lw=1.4)
    finite = np.abs(d[np.isfinite(d)])
    if data.zero_difference:
        span = max(data.scale * 1e-12, 1e-300)
        bottom.set_ylim(-span, span)
        bottom.text(0.01, 0.92, _text(f"{data.difference_label} = 0 to working precision "
                                      f"(max |·| = {finite.max():.1e})"), transform=bottom.transAxes,
                    fontsize=9, va="top", color="darkgreen", bbox=BOX)
    violated = _violations(data)
    if not data.zero_difference and finite.size:
        worst = int(np.nanargmax(np.abs(np.where(np.isfinite(d), d, 0.0))))
        text = f"max |{data.difference_label}| = {finite.max():.4g} at {data.var} = {data.x[worst]:.4g}"
        color = "darkred"
        if violated is not None:
            failing = int(violated.sum())
            total = int(np.isfinite(d).sum())
            text = (f"lhs {symbol} rhs fails at {failing} of {total} points" if failing
                    else f"lhs {symbol} rhs holds at all {total} points") + f"; {text}"
            color = "darkred" if failing else "darkgreen"
        bottom.text(0.01, 0.92, _text(text), transform=bottom.transAxes, fontsize=9, va="top",
                    color=color, bbox=BOX)
    if violated is not None and violated.any():
        bottom.fill_between(data.x, 0, np.where(violated, d, np.nan), color="red", alpha=0.3,
                            label=f"lhs {symbol} rhs fails")
        bottom.legend(loc="lower right", fontsize=9)
    bottom.set_ylabel(_text(data.difference_label), fontsize=9)
    bottom.set_xlabel(_text(_axis_label(data.var)))


def _axis_label(name: str) -> str:
    """A logit's name explained: a_q_e__1_0 is the logit of q_e at index (1, 0)."""
    if "__" in name and name[:2] in ("a_", "u_"):
        table, index = name[2:].rsplit("__", 1)
        what = "logit" if name[0] == "a" else "direction (logit a + m·u)"
        return f"{name}: the {what} of table {table} at index ({index.replace('_', ', ')})"
    return name


def _violations(data: PlotData) -> np.ndarray | None:
    """Where an inequality fails (beyond working precision)."""
    d = data.difference
    noise = ZERO_SCALE * max(data.scale, 1e-300)
    with np.errstate(invalid="ignore"):
        return {"le": d > noise, "lt": d > -noise, "ge": d < -noise, "gt": d < noise}.get(data.relation)


def _draw_limit(data: PlotData, top, bottom) -> None:
    names = {"+": "+", "-": "−"}
    at = "∞" if data.point is None else f"{data.point:g}"
    for side, values in data.approach.items():
        if data.point is None:
            label = f"{data.var} → {'+' if side == '+' else '−'}∞"
        else:
            label = f"{data.var} → {at} from {'above' if side == '+' else 'below'}: {data.var} = {at} {names[side]} d"
        top.plot(data.x, values, lw=1.8, label=label, ls="-" if side == "+" else "--")
    if data.limit_value is not None:
        top.axhline(data.limit_value, color="green", lw=1.2, ls=":", label=f"claimed limit {data.limit_value:.6g}")
    top.set_ylabel("value")
    top.legend(loc="best", fontsize=9)
    drawn = False
    for side, gaps in data.gap.items():
        magnitude = np.abs(gaps)
        magnitude = np.where(magnitude > 0, magnitude, np.nan)
        if np.isfinite(magnitude).any():
            bottom.plot(data.x, magnitude, lw=1.6, ls="-" if side == "+" else "--",
                        label=f"{names[side]} side")
            drawn = True
    if drawn:
        bottom.set_yscale("log")
        bottom.legend(loc="best", fontsize=9)
        bottom.set_ylabel("|lhs − limit|", fontsize=9)
    else:
        bottom.text(0.5, 0.5, "no finite claimed limit to compare with", transform=bottom.transAxes,
                    ha="center")
    bottom.set_xlabel(f"d = |{data.var} − {at}|, the distance from the limit point" if data.point is not None
                      else f"|{data.var}|")


# -- the command ---------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("derivation", metavar="DERIVATION",
                        help="a derivation id, or a unique case-insensitive part of one")
    parser.add_argument("step", metavar="STEP",
                        help="the step's number (the report's # column), or line:N / LN for the step citing line N")
    parser.add_argument("--from", dest="paths", nargs="+", action="extend", default=[], metavar="PATH",
                        help="derivation modules (.py) or folders of them (default: the bundled "
                             "derivations). Loading a module runs its code.")
    parser.add_argument("-o", "--output", metavar="FILE.png",
                        help="where to write the PNG (default: <derivation id, / as _>-step<N>.png here)")
    parser.add_argument("--var", metavar="NAME",
                        help="the variable on the x axis when the step has several (the others are fixed)")
    parser.add_argument("--range", nargs=2, type=float, metavar=("LO", "HI"),
                        help="the x interval (default: the variable's sampling interval; for a limit: "
                             "the distances from the point)")
    parser.add_argument("--points", type=int, default=None, metavar="N",
                        help=f"points per curve (default {DEFAULT_POINTS}, fewer when each takes long, "
                             "e.g. integrals)")
    parser.add_argument("--log-x", action="store_true", help="a log x axis")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not look up a cached refuted verdict (its counterexample is marked, "
                             "and the other variables fixed at it)")


def default_output(derivation_id: str, index: int) -> Path:
    return Path(f"{derivation_id.replace('/', '_')}-step{index}.png")


def main(args) -> int:
    try:
        import matplotlib
        matplotlib.use("Agg")  # never a display, whatever MPLBACKEND says
    except ImportError:
        print(MATPLOTLIB_MISSING, file=sys.stderr)
        return 2
    from . import runner

    try:
        paths = args.paths or [runner.bundled_path()]
        found, failures = runner.collect(paths)
    except FileNotFoundError as exc:
        print(f"deriv plot: {exc}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"deriv plot: could not load {failure.message}", file=sys.stderr)
    try:
        file, derivation, note = find_derivation(found, args.derivation)
        step, step_note = find_step(derivation, args.step)
        for n in (note, step_note):
            if n:
                print(f"deriv plot: {n}")
        data = plot_data(step, derivation, var=args.var, range=tuple(args.range) if args.range else None,
                         points=args.points, log_x=args.log_x, file=file, use_cache=not args.no_cache)
    except PlotError as exc:
        print(f"deriv plot: {exc}", file=sys.stderr)
        return exc.status
    output = Path(args.output) if args.output else default_output(derivation.id, step.index)
    if output.parent and not output.parent.exists():
        print(f"deriv plot: {output.parent}: no such directory", file=sys.stderr)
        return 2
    try:
        render(data, output, step)
    except OSError as exc:
        print(f"deriv plot: cannot write {output}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {output}: {derivation.id} step {step.index} "
          f"({'line ' + str(step.line) if step.line is not None else 'no line'}), {_claim(step)}")
    print(f"  {data.var} over ({data.x[0]:.4g}, {data.x[-1]:.4g}){' (log)' if data.log_x else ''}, "
          f"{len(data.x)} points at {data.dps} digits")
    if data.kind == "limit":
        for side, values in data.approach.items():
            finite = np.isfinite(values)
            if finite.any():
                i = int(np.argmax(finite))  # the point nearest the limit point with a value
                print(f"  {side} side: at distance {data.x[i]:.3g} the expression is {values[i]:.6g}")
    elif data.difference is not None:
        finite = np.abs(data.difference[np.isfinite(data.difference)])
        if data.zero_difference:
            print(f"  {data.difference_label} = 0 to working precision (max |·| = {finite.max():.1e})")
        elif finite.size:
            print(f"  max |{data.difference_label}| = {finite.max():.6g}")
    for n in data.notes:
        print(f"  {n}")
    return 0
