"""The checking ladder: one function per kind of step, each returning an immutable Verdict.

Order for a relation step (DESIGN §3): cheap symbolic rewrites (a proof there is cross-checked by a
light float screen), then the numeric screen (float64 nominates, 50/80 digits decide: a confirmed
mismatch is a refutation and ends the step), then heavy symbolic work; each under a sub-budget. `proved` comes only from a symbolic proof, and
only when the numeric screen did not contradict it (a guard against sympy bugs).
Everything runs in a forked child killed at the step's time budget (see budget.py).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import mpmath
import sympy as sp

from . import budget as budgets
from .budget import BudgetExceeded, alarm
from .domain import Domain, stable_seed
from .lowering import Lowered, LoweringError
from .numeric import PRECISIONS, Sampling, ScreenResult, screen
from .symbolic import Attempt, first_rewrite, prepared_within, prove_zero_cheap, prove_zero_heavy
from .verdict import Status, Verdict

RELATIONS = ("eq", "le", "ge", "lt", "gt", "const")
HEAVY_HINTS = ("simplify", "integrate")
NUMERIC_ONLY = "numeric-only"  # internal hint: skip every symbolic strategy


@dataclass(frozen=True)
class Budgets:
    """Seconds allowed: the whole step (hard kill), and each symbolic strategy (alarm)."""

    step: float = 120.0
    cheap: float = 5.0
    heavy: float = 20.0

    @classmethod
    def for_timeout(cls, timeout: float | None) -> "Budgets":
        if timeout is None:
            return cls()
        return cls(step=timeout, cheap=min(5.0, timeout / 4), heavy=min(20.0, timeout / 2))


# -- public entry points (DESIGN §6) --------------------------------------------------------

def check(lhs, rhs, relation: str = "eq", *, domain: Mapping | None = None,
          wrt: Iterable[sp.Symbol] | None = None, timeout: float | None = None,
          hint: str | None = None, symbolic: bool = True, isolate: bool = True,
          sampling: Sampling | None = None) -> Verdict:
    """Check `lhs <relation> rhs` over `domain` and return its Verdict.

    `symbolic=False` skips every proof strategy (the numeric screen alone: numeric or refuted).
    `sampling` sets the float64 screen's number of points and backend (default 2000, auto).
    """
    if relation not in RELATIONS:
        return Verdict(Status.ERROR, "input", f"unknown relation {relation!r}; use one of {RELATIONS}")
    limits = Budgets.for_timeout(timeout)
    if not symbolic:
        hint = NUMERIC_ONLY
    return _isolated(_check_relation, (lhs, rhs, relation, domain, tuple(wrt or ()), limits, hint,
                                       sampling or Sampling()), limits.step, isolate)


def check_limit(expr, var, point, value, *, direction: str = "+-", domain: Mapping | None = None,
                timeout: float | None = None, isolate: bool = True) -> Verdict:
    """Check lim_{var -> point} expr = value (direction "+", "-" or "+-")."""
    limits = Budgets.for_timeout(timeout)
    return _isolated(_check_limit, (expr, var, point, value, direction, domain, limits),
                     limits.step, isolate)


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment step's function returns: whether the claim held, and its evidence."""

    holds: bool
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def check_experiment(run: Callable[[], ExperimentResult], *, timeout: float | None = None,
                     isolate: bool = True) -> Verdict:
    """Run an experiment (e.g. an optimiser) whose outcome supports a claim: numeric at best."""
    limits = Budgets.for_timeout(timeout)
    return _isolated(_check_experiment, (run,), limits.step, isolate)


def _isolated(fn, args, seconds: float, isolate: bool) -> Verdict:
    start = time.monotonic()
    if isolate:
        outcome = budgets.run(_guarded, fn, args, seconds=seconds)
        elapsed = time.monotonic() - start
        if outcome.timed_out:
            return Verdict(Status.UNKNOWN, "budget", f"timed out after {seconds:g} s", seconds=elapsed)
        if outcome.error:
            return Verdict(Status.ERROR, "crash", outcome.error, seconds=elapsed)
        verdict = outcome.value
    else:
        verdict = _guarded(fn, args)
    return verdict.with_seconds(time.monotonic() - start)


def _guarded(fn, args) -> Verdict:
    try:
        return fn(*args)
    except BudgetExceeded as exc:
        return Verdict(Status.UNKNOWN, "budget", str(exc))
    except (sp.SympifyError, TypeError, ValueError, LoweringError) as exc:
        return Verdict(Status.ERROR, "input", f"{type(exc).__name__}: {exc}")


# -- relation steps ---------------------------------------------------------------------------

def _domain_for(exprs: Iterable[sp.Expr], given: Mapping | None) -> Domain:
    symbols = set()
    for e in exprs:
        symbols |= e.free_symbols
    return Domain.build(symbols, given)


def _check_relation(lhs, rhs, relation, domain_map, wrt, limits: Budgets, hint,
                    sampling: Sampling) -> Verdict:
    deadline = time.monotonic() + limits.step  # certification must not outlive the step's budget
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    for side, expr in (("left", lhs), ("right", rhs)):
        if expr.has(sp.zoo, sp.nan):
            return Verdict(Status.ERROR, "input", f"the {side}-hand side {_short(expr)} is undefined: sympy "
                           f"reduced part of it to {'zoo (a division by zero)' if expr.has(sp.zoo) else 'nan'}")
    dense = dict(points=sampling.points, backend=sampling.backend)
    if relation == "const":
        return _check_const(lhs, rhs, domain_map, wrt, limits, hint, dense, deadline)
    domain = _domain_for((lhs, rhs), domain_map)
    seed = stable_seed(sp.srepr(lhs), sp.srepr(rhs), relation)
    attempt = Attempt()
    if hint == NUMERIC_ONLY:
        numeric = screen(lhs, rhs, relation, domain, seed, **dense)
        if numeric.outcome == "refuted":
            return _refuted(numeric, domain, sides=(lhs, rhs, relation, deadline))
        return _conclude(None, attempt, numeric, domain, relation)
    if relation == "eq" and hint not in HEAVY_HINTS:
        if lhs == rhs:
            return Verdict(Status.PROVED, "identical", "both sides are the same expression",
                           evidence={"domain": domain.describe()})
        cheap = prove_zero_cheap(lhs - rhs, limits.cheap, attempt)
        if cheap:
            # cheap rewrites are trusted; a light float screen still guards against a sympy bug
            numeric = screen(lhs, rhs, relation, domain, seed, agreeing_sample=1, max_suspects=2,
                             hp_seconds=5.0, **dense)
            if numeric.outcome == "refuted":
                return _refuted(numeric, domain, f"sympy's {cheap.method} claimed equality, but ",
                                sides=(lhs, rhs, relation, deadline))
            return _conclude(cheap.method, attempt, numeric, domain)
    numeric = screen(lhs, rhs, relation, domain, seed, **dense)
    if numeric.outcome == "refuted":
        return _refuted(numeric, domain, sides=(lhs, rhs, relation, deadline))
    if relation in ("lt", "gt"):
        equal = prove_zero_cheap(lhs - rhs, limits.cheap, attempt)
        if not equal and numeric.outcome == "unresolved":  # ties seen: worth the heavy attempt
            equal = prove_zero_heavy(lhs - rhs, limits.heavy, attempt)
        if equal:  # a proved identity refutes a strict inequality at every point of the domain
            return _strictness_refuted(lhs, rhs, relation, domain, seed, equal.method, deadline)
    if relation == "eq":
        proof = _prove_equal(lhs, rhs, limits, hint, attempt)
    else:
        proof = _prove_inequality(lhs, rhs, relation, limits, hint, attempt)
    return _conclude(proof, attempt, numeric, domain, relation)


def _strictness_refuted(lhs, rhs, relation, domain: Domain, seed: int, method: str,
                        deadline: float) -> Verdict:
    from .numeric import HighPrecision

    args = domain.symbols
    point = domain.sample(1, seed)
    values = tuple(float(point[s][0]) for s in args)
    hp = HighPrecision(Lowered.of(lhs, args), Lowered.of(rhs, args), "eq")
    check_point = hp.decide(values)
    symbol = "<" if relation == "lt" else ">"
    # the sides are equal: only an exact enclosure [0, 0] could show it, so few precisions are tried
    certificate = _certificate(lhs, rhs, relation, check_point.point, deadline, precisions=(64, 128, 256))
    if not certificate["certified"]:
        certificate["reason"] += (f"; the refutation rests on the symbolic proof that lhs − rhs ≡ 0 "
                                  f"({method})")
    return Verdict(Status.REFUTED, f"identity ({method})",
                   f"lhs − rhs ≡ 0 by {method}, so lhs {symbol} rhs fails at every point, e.g. "
                   f"{check_point.point}: lhs = {check_point.lhs}, rhs = {check_point.rhs}",
                   counterexample=dict(check_point.point),
                   evidence={"lhs_value": check_point.lhs, "rhs_value": check_point.rhs,
                             "difference": check_point.difference, "domain": domain.describe(),
                             "certificate": certificate})


def _prove_equal(lhs, rhs, limits: Budgets, hint, attempt: Attempt) -> str | None:
    """Heavy strategies (the cheap ones already failed, unless a heavy hint skipped them)."""
    difference = lhs - rhs
    proof = prove_zero_heavy(difference, limits.heavy, attempt)
    if proof is None and hint in HEAVY_HINTS:
        proof = prove_zero_cheap(difference, limits.cheap, attempt)
    return proof.method if proof else None


def _prove_inequality(lhs, rhs, relation, limits: Budgets, hint, attempt: Attempt) -> str | None:
    """rhs - lhs (for <=) rewritten until sympy's assumptions know its sign."""
    gap = rhs - lhs if relation in ("le", "lt") else lhs - rhs
    want = "is_nonnegative" if relation in ("le", "ge") else "is_positive"
    for name, rewrite in (("sign", lambda e: e), ("cancel", sp.cancel), ("factor", sp.factor),
                          ("simplify", sp.simplify)):
        attempt.tried.append(f"{name}-sign")
        try:
            with alarm(limits.cheap if name != "simplify" else limits.heavy):
                if getattr(rewrite(gap), want) is True:
                    return f"{name}: sign known"
        except BudgetExceeded as exc:
            attempt.timeouts.append(f"{name} {exc}")
    return None


CLAIMS = {"eq": "lhs − rhs ≡ 0", "le": "rhs − lhs ≥ 0", "ge": "lhs − rhs ≥ 0",
          "lt": "rhs − lhs > 0", "gt": "lhs − rhs > 0"}


def _conclude(proof: str | None, attempt: Attempt, numeric: ScreenResult, domain: Domain,
              relation: str = "eq") -> Verdict:
    sampled = _sampled_text(numeric)
    evidence = numeric.evidence() | {"domain": domain.describe()}
    if proof:
        evidence["tried"] = attempt.tried
        if numeric.outcome != "agree":
            sampled = f"not cross-checked numerically ({numeric.outcome}: {numeric.detail})"
        return Verdict(Status.PROVED, proof, f"{CLAIMS[relation]} by {proof}; {sampled}", evidence=evidence)
    why = attempt.summary() or "symbolic strategies not attempted"
    if numeric.outcome == "agree":
        return Verdict(Status.NUMERIC, f"numeric-{PRECISIONS[0]}dps",
                       f"{sampled}; no symbolic proof ({why})", evidence=evidence)
    if numeric.outcome == "unavailable":
        return Verdict(Status.ERROR, "lowering", f"{numeric.detail}; no symbolic proof ({why})",
                       evidence=evidence)
    if numeric.outcome == "undefined":
        return Verdict(Status.ERROR, "domain", f"{numeric.detail} ({domain.describe()}); "
                       "check the domain of the step", evidence=evidence)
    return Verdict(Status.UNKNOWN, "numeric", f"{numeric.detail}; no symbolic proof ({why})",
                   evidence=evidence)


def _sampled_text(numeric: ScreenResult) -> str:
    if numeric.outcome != "agree":
        return f"numeric screen: {numeric.outcome} {numeric.detail}".strip()
    parts = []
    if numeric.float_points:
        err = f" (max err {numeric.max_rel_err:.1e})" if numeric.max_rel_err else ""
        backend = " (numba)" if numeric.backend.startswith("numba") else ""
        parts.append(f"{numeric.float_points} float64 points{backend} agree{err}")
    if numeric.suspects:
        parts.append(f"{numeric.suspects} ill-conditioned in float64")
    parts.append(f"{numeric.hp_points} re-checked and agree at {PRECISIONS[0]}/{PRECISIONS[1]} digits")
    return ", ".join(parts)


CERTIFY_MARGIN = 1.0  # seconds of the step's budget left untouched by certification


def _certificate(lhs, rhs, relation: str, point, deadline: float, second=None, **options) -> dict:
    """Interval-arithmetic certificate of a refutation (certify.py), within the step's budget.

    A certificate is additional evidence: when none can be made the verdict stays refuted (the
    50/80-digit confirmation is the rule) and the certificate says why.
    """
    from .certify import CERTIFY_SECONDS, certify

    seconds = min(CERTIFY_SECONDS, deadline - time.monotonic() - CERTIFY_MARGIN)
    try:
        return certify(lhs, rhs, relation, point, second=second, seconds=seconds, **options)
    except Exception as exc:  # noqa: BLE001 - a failed certification never costs the refutation
        return {"certified": False, "reason": f"certification failed: {type(exc).__name__}: {exc}"}


def _refuted(numeric: ScreenResult, domain: Domain, prefix: str = "", *, sides: tuple) -> Verdict:
    """A confirmed counterexample; `sides` = (lhs, rhs, relation, deadline) for its certificate."""
    ce = numeric.counterexample
    lhs, rhs, relation, deadline = sides
    where = ", ".join(f"{k}={v!r}" for k, v in ce.point.items()) or "(no free symbols)"
    detail = (f"{prefix}fails at {where}: lhs = {ce.lhs}, rhs = {ce.rhs} "
              f"(difference {ce.difference}, {ce.stable_at()})")
    certificate = _certificate(lhs, rhs, relation, ce.point, deadline)
    evidence = numeric.evidence() | {"domain": domain.describe(), "certificate": certificate}
    if _contradicted(certificate, ce.difference):
        return _not_a_counterexample(ce.point, ce.difference, certificate, evidence)
    return Verdict(Status.REFUTED, f"numeric-{PRECISIONS[1]}dps", detail,
                   counterexample=dict(ce.point), evidence=evidence)


def _contradicted(certificate: dict, claimed: str) -> bool:
    """Does a rigorous enclosure of the difference exclude the difference the high-precision
    evaluation found? Then that evaluation lost its digits to cancellation, whatever its
    stability across precisions suggested, and the point is no counterexample."""
    enclosure = certificate.get("difference")
    if certificate.get("certified") or not enclosure:
        return False
    try:
        low, high = (mpmath.mpf(part) for part in enclosure.strip("[]").split(","))
        value = mpmath.mpf(claimed)
    except (ValueError, TypeError):
        return False  # complex values, or nothing to compare
    slack = mpmath.mpf(10) ** -15 * max(abs(low), abs(high), abs(value))
    return not (low - slack <= value <= high + slack)


def _not_a_counterexample(point, claimed: str, certificate: dict, evidence: dict) -> Verdict:
    return Verdict(Status.UNKNOWN, "numeric",
                   f"a point looked like a counterexample at {dict(point)} (difference {claimed} at 50-320 "
                   f"digits), but interval arithmetic encloses the difference in {certificate['difference']}: "
                   "the evaluation lost its digits to cancellation; no decision", evidence=evidence)


def _check_const(lhs, rhs, domain_map, wrt, limits: Budgets, hint, dense: dict,
                 deadline: float) -> Verdict:
    """lhs - rhs does not depend on `wrt`.

    Proof: a cheap rewrite of lhs - rhs that no longer contains any parameter, or every partial
    derivative proved zero. Evidence: lhs - rhs is the same at two independent settings of the
    parameters (a copy of each parameter, everything else shared), sampled like an identity.
    Refutation: two settings where it differs, confirmed at high precision.
    """
    if not wrt:
        return Verdict(Status.ERROR, "input", "a const step needs the parameters it is constant in (wrt=...)")
    wrt = tuple(wrt)
    difference = lhs - rhs
    domain = _domain_for((lhs, rhs), domain_map)
    names = ", ".join(str(p) for p in wrt) if len(wrt) <= 6 else f"{len(wrt)} parameters"
    attempt = Attempt()
    symbolic = hint != NUMERIC_ONLY
    if symbolic:
        free_form = _free_of(difference, set(wrt), limits.cheap, attempt)
        if free_form is not None:
            return Verdict(Status.PROVED, "parameter-free", f"lhs − rhs = {_short(free_form)}, free of {names}",
                           evidence={"parameters": [str(p) for p in wrt], "difference": str(free_form)})
    # Evidence: lhs − rhs takes the same value at two independent settings of the parameters
    # (everything else shared). A confirmed difference between the two is a refutation.
    twins = {p: sp.Symbol(f"{p.name}__twin", **p.assumptions0) for p in wrt}
    twin_domain = dict(domain_map or {})
    for p, twin in twins.items():
        interval = next((lo_hi for s_, *lo_hi in domain.intervals if s_ == p), None)
        if interval is not None:
            twin_domain[twin] = tuple(interval)
    moved = difference.xreplace(twins)
    pair_domain = _domain_for((difference, moved), twin_domain)
    seed = stable_seed(sp.srepr(lhs), sp.srepr(rhs), "const")
    numeric = screen(difference, moved, "eq", pair_domain, seed, **dense)
    if numeric.outcome == "refuted":
        return _const_refuted(numeric, pair_domain, twins, (lhs, rhs, deadline))
    results = [numeric]
    if symbolic and len(wrt) <= 12:
        proofs = []
        for p in wrt:
            proof = prove_zero_cheap(sp.Derivative(difference, p), limits.cheap, attempt)
            if proof is None:
                break
            proofs.append(proof.method)
        else:
            return Verdict(Status.PROVED, "derivative-zero",
                           f"∂(lhs − rhs)/∂p ≡ 0 for p in {names} ({', '.join(sorted(set(proofs)))}); "
                           f"{_sampled_text(results[0])}", evidence={"parameters": [str(p) for p in wrt]})
    verdict = _conclude(None, attempt, results[0], pair_domain)
    detail = f"lhs − rhs is the same at two independent settings of {names}: {verdict.detail}"
    return Verdict(verdict.status, verdict.method, detail, evidence=dict(verdict.evidence))


def _free_of(difference, params: set, budget: float, attempt: Attempt):
    """A cheap rewrite of lhs − rhs in which no parameter (and no derivative) is left."""
    prepared = prepared_within(difference, budget, attempt)
    if prepared is None:
        return None
    found = first_rewrite(prepared, lambda f: not (f.free_symbols & params) and not f.has(sp.Derivative),
                          budget, attempt)
    return found[1] if found else None


def _short(expr, width: int = 80) -> str:
    text = str(expr)
    return text if len(text) <= width else text[: width - 1] + "…"


def _const_refuted(numeric: ScreenResult, domain: Domain, twins: dict, sides: tuple) -> Verdict:
    """lhs − rhs takes two different values when only the parameters change.

    `sides` = (lhs, rhs, deadline): the certificate encloses (lhs − rhs)(first) − (lhs − rhs)(second).
    """
    ce = numeric.counterexample
    point = dict(ce.point)
    first = {k: v for k, v in point.items() if not k.endswith("__twin")}
    second = {**first, **{p.name: point[t.name] for p, t in twins.items() if t.name in point}}
    changed = ", ".join(f"{p.name}: {first[p.name]!r} → {point[t.name]!r}" for p, t in twins.items()
                        if t.name in point and p.name in first)
    detail = (f"lhs − rhs = {ce.lhs} at {first}, but {ce.rhs} when only the parameters change "
              f"({changed}); {ce.stable_at()}")
    evidence = numeric.evidence() | {"domain": domain.describe(), "second_point": second,
                                     "difference_at_first": ce.lhs, "difference_at_second": ce.rhs}
    lhs, rhs, deadline = sides
    evidence["certificate"] = _certificate(lhs, rhs, "const", first, deadline, second=second)
    with mpmath.workdps(PRECISIONS[1]):
        try:
            claimed = mpmath.nstr(mpmath.mpf(ce.lhs) - mpmath.mpf(ce.rhs), 25)
        except (ValueError, TypeError):
            claimed = ""
    if claimed and _contradicted(evidence["certificate"], claimed):
        return _not_a_counterexample(first, claimed, evidence["certificate"], evidence)
    # lhs_value/rhs_value: the two values of lhs − rhs (the schema every refutation shares)
    return Verdict(Status.REFUTED, f"numeric-{PRECISIONS[1]}dps", detail, counterexample=first,
                   evidence=evidence)


def _rank(status: Status) -> int:
    return [Status.PROVED, Status.NUMERIC, Status.UNKNOWN, Status.ERROR, Status.REFUTED].index(status)


# -- limit steps -------------------------------------------------------------------------------

LIMIT_DPS = 80
LIMIT_STEPS = tuple(range(2, 21, 2))  # h = 10^-2 ... 10^-20


def _check_limit(expr, var, point, value, direction, domain_map, limits: Budgets) -> Verdict:
    expr, point, value = sp.sympify(expr), sp.sympify(point), sp.sympify(value)
    if direction not in ("+", "-", "+-"):
        return Verdict(Status.ERROR, "input", f"direction must be '+', '-' or '+-', not {direction!r}")
    notes, evidence = [], {}
    symbolic = None
    try:
        with alarm(limits.heavy):
            symbolic = sp.limit(expr, var, point, dir=direction)
    except BudgetExceeded as exc:
        notes.append(f"sympy limit {exc}")
    except Exception as exc:  # noqa: BLE001 - e.g. the one-sided limits differ (ValueError)
        notes.append(f"sympy limit: {type(exc).__name__}: {exc}")
    series = _leading_series(expr, var, point, direction, limits)
    if series:
        evidence["series"] = series
    others = sorted(expr.free_symbols - {var}, key=lambda s: s.name)
    approach = _approach(expr, var, point, direction, others, domain_map)
    evidence["approach"] = approach["table"]
    if approach.get("error"):
        notes.append(approach["error"])
    claimed_ok = _approaches(approach, value)
    if symbolic is not None:
        evidence["sympy_limit"] = str(symbolic)
        same = _same_value(symbolic, value, limits)
        if same and claimed_ok is not False:
            detail = f"sympy limit = {symbolic}"
            if series:
                detail += f"; series {series}"
            detail += "; " + approach["summary"]
            return Verdict(Status.PROVED, "limit-series" if series else "limit", detail, evidence=evidence)
        if same is False and claimed_ok is False and _approaches(approach, symbolic):
            point_seen = approach["closest"]
            from .certify import LIMIT_REASON

            evidence["certificate"] = {"certified": False, "reason": LIMIT_REASON}
            return Verdict(Status.REFUTED, f"limit+numeric-{LIMIT_DPS}dps",
                           f"the limit is {symbolic}, not {value}: {approach['summary']}",
                           counterexample=point_seen, evidence=evidence)
        notes.append(f"sympy limit = {symbolic}, numeric approach {approach['summary']}")
    if claimed_ok:
        return Verdict(Status.NUMERIC, f"limit-numeric-{LIMIT_DPS}dps",
                       f"{approach['summary']}" + (f"; {'; '.join(notes)}" if notes else ""), evidence=evidence)
    return Verdict(Status.UNKNOWN, "limit", "; ".join(notes) or approach["summary"], evidence=evidence)


def _same_value(a, b, limits: Budgets) -> bool | None:
    if a == b:
        return True
    try:
        with alarm(limits.cheap):
            if sp.simplify(a - b) == 0:
                return True
    except BudgetExceeded:
        return None
    if a.is_number and b.is_number:
        with mpmath.workdps(60):
            try:
                # a tiny difference is not evidence of equality: only a symbolic zero is
                return False if abs(complex(sp.N(a - b, 60))) > 1e-40 else None
            except (TypeError, ValueError):
                return None
    return None


def _leading_series(expr, var, point, direction, limits: Budgets) -> str | None:
    try:
        with alarm(limits.heavy):
            s = sp.series(expr, var, point, n=6, dir="-" if direction == "-" else "+")
    except BudgetExceeded:
        return None
    except Exception:  # noqa: BLE001 - no series is not a failure of the step
        return None
    return str(s)


def _approach(expr, var, point, direction, others, domain_map) -> dict:
    """Evaluate expr at point ± 10^-k at LIMIT_DPS digits (the others at a fixed sample point)."""
    domain = Domain.build(others, domain_map) if others else None
    fixed = {}
    if domain:
        sample = domain.sample(1, stable_seed(str(expr), "limit"))
        fixed = {s: float(sample[s][0]) for s in others}
    args = (var, *others)
    try:
        fn = Lowered.of(expr, args).mpmath_fn()
    except LoweringError as exc:
        return {"table": [], "summary": "no numeric evaluation", "error": str(exc), "sides": {}}
    sides = {}
    table = []
    signs = {"+": (1,), "-": (-1,), "+-": (1, -1)}[direction]
    with mpmath.workdps(LIMIT_DPS):
        for sign in signs:
            values = []
            for k in LIMIT_STEPS:
                if point in (sp.oo, -sp.oo):
                    at = mpmath.mpf(10) ** k * (1 if point == sp.oo else -1)
                else:
                    at = mpmath.mpf(sp.N(point, LIMIT_DPS)) + sign * mpmath.mpf(10) ** -k
                try:
                    v = fn(at, *[mpmath.mpf(fixed[s]) for s in others])
                except (ZeroDivisionError, ValueError, OverflowError):
                    v = None
                values.append((at, v))
                table.append({"at": mpmath.nstr(at, 5), "value": None if v is None else mpmath.nstr(v, 12)})
            sides[sign] = values
    last = {sign: vals[-1] for sign, vals in sides.items()}
    closest = {str(var): float(next(iter(last.values()))[0])} | {str(s): v for s, v in fixed.items()}
    summary = "; ".join(
        f"f({mpmath.nstr(at, 3)}) = {mpmath.nstr(v, 8) if v is not None else 'undefined'}"
        for at, v in last.values())
    return {"table": table, "summary": summary, "sides": sides, "closest": closest}


def _approaches(approach: dict, target) -> bool | None:
    """True if every side's values settle on `target`; False if they settle elsewhere."""
    sides = approach.get("sides") or {}
    if not sides:
        return None
    try:
        with mpmath.workdps(LIMIT_DPS):
            # the target at full precision (a float64 pi is 1.2e-16 off, farther than the
            # approaching values get): real and imaginary parts evaluated separately
            if target.is_finite:
                exact = sp.N(target, LIMIT_DPS)
                goal = mpmath.mpc(mpmath.mpf(str(sp.re(exact))), mpmath.mpf(str(sp.im(exact))))
                goal = goal.real if goal.imag == 0 else goal
            else:
                goal = None
    except (TypeError, ValueError, AttributeError):
        return None
    verdicts = []
    for values in sides.values():
        finite = [v for _, v in values if v is not None]
        if len(finite) < 3:
            return None
        tail = finite[-3:]
        if goal is None:  # an infinite target: values must grow without bound in its direction
            sign = 1 if target == sp.oo else -1
            grows = all(abs(b) > 10 * abs(a) for a, b in zip(tail, tail[1:]))
            verdicts.append(grows and all(mpmath.re(v) * sign > 0 for v in tail))
            continue
        with mpmath.workdps(LIMIT_DPS):
            gaps = [abs(v - goal) for v in tail]
            scale = max(1, abs(goal))
            settled = gaps[-1] <= mpmath.mpf(10) ** -8 * scale and gaps[-1] <= gaps[0]
            verdicts.append(bool(settled))
    return all(verdicts)


# -- experiment steps ---------------------------------------------------------------------------

def _check_experiment(run) -> Verdict:
    result = run()
    if not isinstance(result, ExperimentResult):
        return Verdict(Status.ERROR, "experiment", f"the experiment returned {type(result).__name__}, "
                       "not an ExperimentResult")
    status = Status.NUMERIC if result.holds else Status.UNKNOWN
    return Verdict(status, "experiment", result.detail, evidence=dict(result.evidence))
