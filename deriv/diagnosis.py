"""Why a refuted step fails, and the nearest step that holds ("did you mean …").

Given a refuted step `lhs REL rhs`, two questions:

1. How do the sides differ? Both sides are evaluated at a handful of probe points (the
   counterexample and seeded points of the domain) at 30 digits, and the differences classified:
   by a sign (lhs = −rhs), an additive constant, a constant factor, only in part of the domain
   (the sides agree at some points and not at others: a branch or domain issue), by a term (the
   residual lhs − rhs, shown in its simplest form found within a budget), or, for an inequality,
   by its direction. This is a description, not a verdict: the refutation itself stands on its
   confirmed counterexample.
2. What did the author mean? The small edits authors make by mistake are tried on the right-hand
   side: negate it, flip the sign of one term, swap the arguments of a KL divergence or
   cross-entropy, put back a lost log or remove a spurious one, drop a term, double or halve a
   term, add back the constant or factor the probe found, and for an inequality the other
   relations. An edit that agrees with the left-hand side at the probe points (cheap: one
   evaluation per point) is then checked by deriv's full ladder; the first one that is *proved*
   is the suggestion. If none is proved, the first that holds numerically is reported as such.

Everything runs under a time budget; a diagnosis that runs out says how far it got.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import mpmath
import sympy as sp

from . import prob
from .budget import alarm
from .domain import Domain, stable_seed
from .lowering import compile_expr, prepare
from .verdict import Status, Verdict

PROBE_DPS = 30
PROBE_POINTS = 8
AGREE = mpmath.mpf(10) ** -15  # relative: far below any real difference, far above 30-digit noise
DIAGNOSIS_SECONDS = 90.0
CANDIDATE_SECONDS = 40.0
MAX_TERMS = 12
MAX_EDITS = 80
RESIDUAL_SECONDS = 3.0
INEQUALITY_EDITS = {"lt": ("le", "eq", "gt", "ge"), "gt": ("ge", "eq", "lt", "le"),
                    "le": ("ge", "eq"), "ge": ("le", "eq")}


# -- probing: values of both sides at a few points --------------------------------------------

class Probe:
    """Evaluates the left side and candidate right sides at fixed points, at 30 digits.

    For a step over distributions the sides are made concrete at the smallest support sizes
    (the probe is a filter; the full check of a candidate covers every size of the plan).
    """

    def __init__(self, lhs: sp.Expr, rhs: sp.Expr, relation: str, *, domain: Mapping | None,
                 wrt: Sequence = (), counterexample: Mapping[str, float] | None = None):
        self.relation = relation
        self.probabilistic = prob.is_probabilistic(lhs, rhs)
        if self.probabilistic:
            vars = prob.index_vars(lhs, rhs)
            sizes = prob.size_plan(vars)[0][0]
            free = prob.free_indices(lhs, rhs)
            self._sizes = sizes
            self._free = prob.free_assignments(free, sizes, limit=1)[0]
            instance = prob.instantiate(lhs, rhs, sizes, self._free)
            self._lhs, rhs_concrete = instance.lhs, instance.rhs
            bounds = instance.domain()
            symbols = sorted(bounds, key=lambda s: s.name)
            moving = set(_wrt_logits(instance, wrt))
        else:
            self._lhs, rhs_concrete = sp.sympify(lhs), sp.sympify(rhs)
            symbols = sorted(self._lhs.free_symbols | rhs_concrete.free_symbols, key=lambda s: s.name)
            bounds = domain or {}
            moving = set(wrt) if wrt else set(symbols)
        self.domain = Domain.build(symbols, {s: v for s, v in bounds.items() if s in set(symbols)}
                                   if self.probabilistic else bounds)
        self.symbols = self.domain.symbols
        self.points = self._points(counterexample, moving)
        self.lhs_values = self.values_of_concrete(self._lhs)
        self.rhs_values = self.values_of_concrete(rhs_concrete)

    def _points(self, counterexample, moving) -> list[list[mpmath.mpf]]:
        seed = stable_seed("diagnose", *map(str, self.symbols))
        sample = self.domain.sample(4 * PROBE_POINTS, seed)
        names = [str(s) for s in self.symbols]
        rows = []
        if counterexample and all(n in counterexample for n in names):
            rows.append([float(counterexample[n]) for n in names])
        # uniform points only (the sampler also hugs the interval ends; a probe wants typical ones)
        for i in range(4 * PROBE_POINTS):
            row = [float(sample[s][i]) for s in self.symbols]
            if all(lo + 1e-3 * (hi - lo) < v < hi - 1e-3 * (hi - lo)
                   for v, (_, lo, hi) in zip(row, self.domain.intervals)):
                rows.append(row)
            if len(rows) >= PROBE_POINTS:
                break
        if self.relation == "const" and rows:
            # a const step's difference may depend on what it is not constant in: vary only `wrt`
            base = rows[0]
            rows = [[v if s in moving else b for s, v, b in zip(self.symbols, row, base)] for row in rows]
        return rows

    def concrete(self, expr: sp.Expr) -> sp.Expr:
        if self.probabilistic:
            return prob.instantiate(expr, sp.Integer(0), self._sizes, self._free).lhs
        return sp.sympify(expr)

    def values(self, expr: sp.Expr) -> list | None:
        """Values of a candidate right-hand side at the probe points (None where undefined)."""
        return self.values_of_concrete(self.concrete(expr))

    def values_of_concrete(self, expr: sp.Expr) -> list | None:
        if not expr.free_symbols <= set(self.symbols):
            return None  # an edit must not bring in a symbol the step does not have
        fn = compile_expr(prepare(expr), self.symbols, "mpmath")
        out = []
        with mpmath.workdps(PROBE_DPS):
            for row in self.points:
                try:
                    value = mpmath.mpmathify(fn(*[mpmath.mpf(v) for v in row]))
                except (ZeroDivisionError, ValueError, OverflowError, TypeError, ArithmeticError):
                    value = None
                if value is not None and isinstance(value, mpmath.mpc):
                    value = value.real if value.imag == 0 else None
                if value is not None and not mpmath.isfinite(value):
                    value = None
                out.append(value)
        return out

    def agrees(self, values: list | None, relation: str | None = None) -> bool:
        """Does a candidate right side make the relation hold at every probe point?"""
        relation = relation or self.relation
        if values is None:
            return False
        pairs = [(L, R) for L, R in zip(self.lhs_values, values) if L is not None and R is not None]
        if len(pairs) < max(2, len(self.points) // 2):
            return False
        with mpmath.workdps(PROBE_DPS):
            diffs = [L - R for L, R in pairs]
            scales = [max(1, abs(L), abs(R)) for L, R in pairs]
            if relation == "eq":
                return all(abs(d) <= AGREE * s for d, s in zip(diffs, scales))
            if relation == "const":
                return all(abs(d - diffs[0]) <= AGREE * max(s, abs(diffs[0])) for d, s in zip(diffs, scales))
            if relation in ("le", "lt"):
                return all(d <= AGREE * s for d, s in zip(diffs, scales))
            if relation in ("ge", "gt"):
                return all(-d <= AGREE * s for d, s in zip(diffs, scales))
        return False


def _wrt_logits(instance: prob.Instance, wrt) -> tuple:
    from .probcheck import _wrt_logits as logits
    return logits(instance, wrt)


# -- classifying the difference ------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    constant: sp.Expr | None = None   # the constant or factor found, when exact enough to try


def _exact(value) -> sp.Expr | None:
    """A short exact number for a 30-digit value (2, -1/2, log(2), pi), or None."""
    with mpmath.workdps(PROBE_DPS):
        guess = sp.nsimplify(sp.Float(mpmath.nstr(value, PROBE_DPS), PROBE_DPS),
                             [sp.pi, sp.E, sp.log(2)], tolerance=1e-20, rational=False)
    if sp.count_ops(guess) > 8 or not guess.is_number:
        return None
    with mpmath.workdps(PROBE_DPS):
        if abs(mpmath.mpf(sp.N(guess, PROBE_DPS)) - value) > AGREE * max(1, abs(value)):
            return None
    return guess


def classify(probe: Probe) -> Kind:
    relation = probe.relation
    pairs = [(L, R) for L, R in zip(probe.lhs_values, probe.rhs_values or []) if L is not None and R is not None]
    if len(pairs) < 2:
        return Kind("unknown", "the sides cannot both be evaluated at enough probe points to compare them")
    with mpmath.workdps(PROBE_DPS):
        same = [abs(L - R) <= AGREE * max(1, abs(L), abs(R)) for L, R in pairs]
        if relation in ("le", "lt", "ge", "gt"):
            flipped = {"le": "ge", "lt": "gt", "ge": "le", "gt": "lt"}[relation]
            if all(same):
                return Kind("relation", f"the sides are equal at every probe point, so a strict "
                                        f"'{_sym(relation)}' cannot hold" if relation in ("lt", "gt") else
                            "the sides are equal at every probe point")
            if probe.agrees(probe.rhs_values, flipped):
                return Kind("relation", f"the opposite inequality (lhs {_sym(flipped)} rhs) holds at "
                                        f"every probe point")
            return Kind("domain", f"lhs {_sym(relation)} rhs holds at some probe points and fails at "
                                  "others: the sides cross")
        sums = [L + R for L, R in pairs]
        if relation == "const":
            if all(abs(s - sums[0]) <= AGREE * max(1, abs(L), abs(R)) for s, (L, R) in zip(sums, pairs)):
                return Kind("sign", "the sides differ by a sign: lhs = −rhs + c (c constant in the parameters)")
            return Kind("term", "lhs − rhs depends on the parameters the step is constant in")
        if all(abs(s) <= AGREE * max(1, abs(L), abs(R)) for s, (L, R) in zip(sums, pairs)) and not all(same):
            return Kind("sign", "the sides differ by a sign: lhs = −rhs at every probe point")
        if any(same) and not all(same):
            defined = [row for row, L, R in zip(probe.points, probe.lhs_values, probe.rhs_values or [])
                       if L is not None and R is not None]
            agree, differ = (next(_named(probe, row) for row, ok in zip(defined, same) if ok is want)
                             for want in (True, False))  # noqa: B023
            return Kind("domain", f"the sides agree at {sum(same)} of {len(same)} probe points and differ at "
                                  f"the others (agree at {agree}, differ at {differ}): a branch or domain issue")
        diffs = [L - R for L, R in pairs]
        if all(abs(d - diffs[0]) <= AGREE * max(1, abs(L), abs(R)) for d, (L, R) in zip(diffs, pairs)):
            exact = _exact(diffs[0])
            shown = exact if exact is not None else mpmath.nstr(diffs[0], 15)
            return Kind("constant", f"the sides differ by an additive constant: lhs − rhs = {shown}", exact)
        if all(R != 0 for _, R in pairs):
            ratios = [L / R for L, R in pairs]
            if all(abs(r - ratios[0]) <= AGREE * max(1, abs(r)) for r in ratios):
                exact = _exact(ratios[0])
                shown = exact if exact is not None else mpmath.nstr(ratios[0], 15)
                return Kind("factor", f"the sides differ by a constant factor: lhs = {shown} · rhs", exact)
    return Kind("term", "the sides differ by a term that is neither constant nor a multiple of a side")


def _named(probe: Probe, row) -> str:
    return ", ".join(f"{s} = {v:.6g}" for s, v in zip(probe.symbols, row))


def _sym(relation: str) -> str:
    return {"eq": "=", "le": "≤", "ge": "≥", "lt": "<", "gt": ">", "const": "= c +"}[relation]


# -- the edits ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Edit:
    description: str
    rhs: sp.Expr
    relation: str


def _swappable(expr: sp.Expr) -> list[sp.Expr]:
    return [f for f in sp.preorder_traversal(expr) if isinstance(f, (prob.KL, prob.CE))]


def _log_targets(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Expr]]:
    """(a Mul, one of its factors) pairs where a lost log could go back: non-numeric factors that
    are not probability-table entries (the weights of a sum stay; what they weight may be a log)."""
    found = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Mul):
            for factor in node.args:
                if factor.is_number or prob.table_of(factor) is not None or isinstance(factor, sp.log):
                    continue
                found.append((node, factor))
    return found


def edits(rhs: sp.Expr, relation: str, kind: Kind) -> Iterator[Edit]:
    """The small edits an author makes by mistake, most likely first."""
    if relation in INEQUALITY_EDITS:
        for other in INEQUALITY_EDITS[relation]:
            yield Edit(f"'{_sym(other)}' instead of '{_sym(relation)}'", rhs, other)
        return
    terms = sp.Add.make_args(rhs) if isinstance(rhs, sp.Add) else (rhs,)
    terms = terms if len(terms) <= MAX_TERMS else ()
    yield Edit("negate the right-hand side", -rhs, relation)
    if kind.constant is not None and kind.name == "constant":
        yield Edit(f"add the constant {kind.constant}", rhs + kind.constant, relation)
    if kind.constant is not None and kind.name == "factor":
        yield Edit(f"multiply the right-hand side by {kind.constant}", kind.constant * rhs, relation)
    if len(terms) > 1:
        for t in terms:
            yield Edit(f"flip the sign of the term {_short(t)}", rhs - 2 * t, relation)
    for f in _swappable(rhs):
        P, Q, *vars = f.args
        yield Edit(f"swap the arguments of {_short(f)}", rhs.xreplace({f: f.func(Q, P, *vars)}), relation)
    for node in sp.preorder_traversal(rhs):
        if isinstance(node, sp.log):
            yield Edit(f"remove the log of {_short(node.args[0])}", rhs.xreplace({node: node.args[0]}), relation)
    for mul, factor in _log_targets(rhs):
        changed = sp.Mul(*[sp.log(a) if a == factor else a for a in mul.args])
        yield Edit(f"put back the log: log({_short(factor)})", rhs.xreplace({mul: changed}), relation)
    if len(terms) > 1:
        for t in terms:
            yield Edit(f"drop the term {_short(t)}", rhs - t, relation)
        for t in terms:
            yield Edit(f"halve the term {_short(t)}", rhs - t / 2, relation)
            yield Edit(f"double the term {_short(t)}", rhs + t, relation)
    yield Edit("halve the right-hand side", rhs / 2, relation)
    yield Edit("double the right-hand side", 2 * rhs, relation)


def _short(expr: sp.Expr, width: int = 60) -> str:
    text = str(expr)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- the diagnosis ---------------------------------------------------------------------------

Checker = Callable[[sp.Expr, str, float], Verdict]


def diagnose(lhs, rhs, relation: str, verdict: Verdict, *, checker: Checker | None = None,
             domain: Mapping | None = None, wrt: Sequence = (), seconds: float = DIAGNOSIS_SECONDS) -> dict:
    """The diagnosis of a refuted relation step, as plain data for `Verdict.evidence['diagnosis']`.

    `checker(rhs, relation, timeout)` checks a candidate step `lhs relation rhs` with the same
    ladder (and settings) the step itself was checked with; by default `deriv.check` over
    `domain` (and `wrt` for a const step).
    """
    start = time.monotonic()
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    if checker is None:
        from .checks import check

        def checker(candidate, candidate_relation, timeout):
            return check(lhs, candidate, candidate_relation, domain=domain, wrt=wrt, timeout=timeout)
    try:
        probe = Probe(lhs, rhs, relation, domain=domain, wrt=wrt, counterexample=verdict.counterexample)
    except Exception as exc:  # noqa: BLE001 - a diagnosis never breaks a verdict
        return {"kind": "unknown", "summary": f"no diagnosis: the sides cannot be probed "
                f"({type(exc).__name__}: {exc})", "residual": None, "suggestion": None, "tried": 0}
    kind = classify(probe)
    residual = _residual(lhs, rhs, relation)
    out: dict[str, Any] = {"kind": kind.name, "summary": kind.summary,
                           "residual": None if residual is None else _text(residual),
                           "suggestion": None, "tried": 0, "probe_points": len(probe.points)}
    fallback = None
    tried = checked = 0
    candidates = edits(rhs, relation, kind)
    if residual is not None and relation == "eq" and kind.name == "term" and _small(residual):
        # a dropped term the residual names: the author's rhs, plus exactly what it lost
        candidates = itertools.chain(candidates, [Edit(f"restore the dropped term {residual}", rhs + residual,
                                                       relation)])
    for edit in _with_constants(probe, candidates):
        if time.monotonic() - start > seconds or tried >= MAX_EDITS:
            out["stopped"] = f"stopped after {tried} edits ({time.monotonic() - start:.0f} s budget)"
            break
        tried += 1
        try:
            if relation not in INEQUALITY_EDITS and not probe.agrees(probe.values(edit.rhs), edit.relation):
                continue
        except Exception:  # noqa: BLE001 - an edit that cannot be evaluated is not a suggestion
            continue
        checked += 1
        left = max(5.0, min(CANDIDATE_SECONDS, seconds - (time.monotonic() - start)))
        candidate = checker(edit.rhs, edit.relation, left)
        if candidate.status is Status.PROVED:
            out["suggestion"] = _suggestion(edit, candidate)
            break
        if candidate.status is Status.NUMERIC and fallback is None:
            fallback = _suggestion(edit, candidate)
    if out["suggestion"] is None and fallback is not None:
        out["suggestion"] = fallback
    out["tried"], out["checked"] = tried, checked
    out["seconds"] = round(time.monotonic() - start, 3)
    return out


def _with_constants(probe: Probe, candidates: Iterable[Edit]) -> Iterator[Edit]:
    """Each edit, and right after it the same edit plus the constant it still misses (when the
    probe shows one: a dropped "+ 1" after another edit is the same mistake twice)."""
    for edit in candidates:
        yield edit
        if edit.relation != "eq" or edit.description.startswith("add the constant"):
            continue
        try:
            values = probe.values(edit.rhs)
        except Exception:  # noqa: BLE001
            continue
        pairs = [(L, R) for L, R in zip(probe.lhs_values, values or []) if L is not None and R is not None]
        if len(pairs) < 2:
            continue
        with mpmath.workdps(PROBE_DPS):
            diffs = [L - R for L, R in pairs]
            if abs(diffs[0]) <= AGREE * max(1, abs(pairs[0][0])) or not all(
                    abs(d - diffs[0]) <= AGREE * max(1, abs(L)) for d, (L, _) in zip(diffs, pairs)):
                continue
        constant = _exact(diffs[0])
        if constant is not None:
            yield Edit(f"{edit.description}, and add {constant}", edit.rhs + constant, edit.relation)


def _suggestion(edit: Edit, verdict: Verdict) -> dict:
    return {"edit": edit.description, "rhs": str(edit.rhs), "relation": edit.relation,
            "status": verdict.status.value, "method": verdict.method}


def _residual(lhs: sp.Expr, rhs: sp.Expr, relation: str) -> sp.Expr | None:
    """lhs − rhs in the shortest form a few cheap rewrites find within a budget (sympy's own
    collection of like terms only, for steps over distributions: their sides are operators)."""
    if relation not in ("eq", "const"):
        return None
    residual = lhs - rhs
    forms = [residual]
    if not prob.is_probabilistic(residual) and sp.count_ops(residual) <= 200:
        try:
            with alarm(RESIDUAL_SECONDS):
                for rewrite in (sp.expand, sp.cancel, sp.factor, lambda e: sp.expand_log(e, force=False)):
                    forms.append(rewrite(residual))
        except Exception:  # noqa: BLE001 - BudgetExceeded or a sympy failure: keep what we have
            pass
    return min(forms, key=lambda f: len(str(f)))


def _text(expr: sp.Expr, width: int = 160) -> str | None:
    text = str(expr)
    return text if len(text) <= width else None


def _small(expr: sp.Expr) -> bool:
    """Short enough to be a term an author drops (2*x, log(2), x*y/2), not a second derivation."""
    return not prob.is_probabilistic(expr) and sp.count_ops(expr) <= 4 and len(sp.Add.make_args(expr)) == 1


def diagnose_limit(expr, var, point, value, verdict: Verdict, *, check_value: Callable[[sp.Expr, float], Verdict],
                   seconds: float = DIAGNOSIS_SECONDS) -> dict:
    """A refuted limit: the value sympy computed is the suggestion, once deriv proves it."""
    start = time.monotonic()
    found = verdict.evidence.get("sympy_limit")
    out: dict[str, Any] = {"kind": "limit", "summary": f"the limit is not {value}", "residual": None,
                           "suggestion": None, "tried": 0}
    if found is None:
        return out
    try:
        candidate_value = sp.sympify(found)
    except (sp.SympifyError, TypeError):
        return out
    out["summary"] = f"the limit is {candidate_value}, not {value}"
    out["tried"] = 1
    candidate = check_value(candidate_value, seconds)
    if candidate.status in (Status.PROVED, Status.NUMERIC):
        out["suggestion"] = {"edit": "the limit sympy computes", "rhs": str(candidate_value),
                             "relation": "limit", "status": candidate.status.value, "method": candidate.method}
    out["seconds"] = round(time.monotonic() - start, 3)
    return out
