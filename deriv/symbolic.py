"""Symbolic proof that an expression is identically zero, cheapest rewrite first.

Every rewrite used here is an equivalence under the symbols' declared assumptions: `expand_log`
and `logcombine` run without `force=True` (sympy then splits log(a*b) only when a, b are known
positive), so a proof never relies on a branch-cut identity the domain does not justify.
The answer is `Proof(method)` or None; a strategy that exceeds its sub-budget is recorded, not fatal.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .budget import BudgetExceeded, alarm


@dataclass(frozen=True)
class Proof:
    method: str
    steps: tuple[str, ...] = ()


@dataclass
class Attempt:
    """What was tried, for the verdict's detail when nothing closed the step."""

    tried: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        if self.tried:
            parts.append("tried " + ", ".join(dict.fromkeys(self.tried)))
        if self.timeouts:
            parts.append("; ".join(dict.fromkeys(self.timeouts)))
        if self.failures:
            parts.append("; ".join(dict.fromkeys(self.failures)))
        return "; ".join(parts)


def _is_zero(expr) -> bool:
    # structural zero only: `equals`/`is_zero` may fall back to numeric tests (sympy #18719, #27224)
    return expr == 0


def honest_integration_variables(e: sp.Expr) -> sp.Expr:
    """Integration variables get the assumptions their interval justifies, no more.

    `Integral(log(x**2), (x, -1, 1))` with x declared positive must not let expand_log use x > 0:
    the bound variable runs over (-1, 1) whatever the symbol outside says.
    """
    def rebind(integral: sp.Integral) -> sp.Integral:
        body, limits = integral.function, []
        for limit in integral.limits:
            if len(limit) != 3:
                limits.append(limit)
                continue
            var, low, high = limit
            facts = {"real": True}
            if low.is_nonnegative and high.is_nonnegative:
                facts["positive"] = True
            elif low.is_nonpositive and high.is_nonpositive:
                facts["negative"] = True
            fresh = sp.Dummy(var.name, **facts)
            body = body.xreplace({var: fresh})
            limits.append((fresh, low, high))
        return sp.Integral(body, *limits)

    return e.replace(lambda n: isinstance(n, sp.Integral), rebind)


def _doit_derivatives(e: sp.Expr) -> sp.Expr:
    return e.replace(lambda n: isinstance(n, sp.Derivative), lambda n: n.doit(deep=False))


def _cheap_rewrites() -> list[tuple[str, Callable[[sp.Expr], sp.Expr]]]:
    return [
        ("cancel", sp.cancel),
        ("expand", lambda e: sp.cancel(sp.expand(e))),
        ("expand_log", lambda e: sp.cancel(sp.expand(sp.expand_log(e)))),
        ("powsimp", lambda e: sp.cancel(sp.powsimp(sp.expand(sp.expand_log(e)), deep=True))),
        ("logcombine", lambda e: sp.cancel(sp.logcombine(e))),
        ("exp-rewrite", lambda e: sp.cancel(sp.expand(sp.expand_log(e.rewrite(sp.exp))))),
    ]


def _merge_integrals(expr: sp.Expr) -> sp.Expr:
    """Integrals over the same interval are summed into one integral (linearity).

    The integration variable of each is renamed to one fresh dummy per interval, so a factor
    outside an integral can never be captured by its bound variable.
    """
    terms = sp.Add.make_args(sp.expand(expr, deep=False, mul=True, log=False, multinomial=False,
                                       power_exp=False, power_base=False))
    grouped: dict[tuple, list[sp.Expr]] = {}
    rest = []
    for term in terms:
        coefficient, integrals = term.as_independent(sp.Integral, as_Add=False)
        if isinstance(integrals, sp.Integral) and len(integrals.limits) == 1 \
                and len(integrals.limits[0]) == 3:
            var, low, high = integrals.limits[0]
            key = (low, high)
            grouped.setdefault(key, []).append((coefficient, integrals.function, var))
        else:
            rest.append(term)
    if not any(len(v) > 1 for v in grouped.values()):
        return expr
    merged = []
    for (low, high), parts in grouped.items():
        u = sp.Dummy("u")
        body = sp.Add(*[c * f.xreplace({var: u}) for c, f, var in parts])
        merged.append(sp.Integral(body, (u, low, high)))
    return sp.Add(*rest, *merged)


def _integrand_zero(expr: sp.Expr, budget: float, attempt: Attempt) -> Proof | None:
    """Zero when every merged integral has an integrand proved zero and the rest is zero."""
    integrals = [t for t in sp.Add.make_args(expr) if isinstance(t, sp.Integral)]
    rest = sp.Add(*[t for t in sp.Add.make_args(expr) if not isinstance(t, sp.Integral)])
    if not integrals:
        return None
    methods = []
    for part in [i.function for i in integrals] + [rest]:
        proof = _rewrites(part, budget, attempt)
        if proof is None:
            return None
        methods.append(proof.method)
    return Proof("integrand " + "+".join(dict.fromkeys(methods)))


def first_rewrite(expr: sp.Expr, accept: Callable[[sp.Expr], bool], budget: float,
                  attempt: Attempt) -> tuple[str, sp.Expr] | None:
    """The first cheap rewrite of `expr` that `accept`s, all of them together within `budget` s."""
    if accept(expr):
        return "identical", expr
    deadline = time.monotonic() + budget
    for name, rewrite in _cheap_rewrites():
        left = deadline - time.monotonic()
        if left <= 0:
            attempt.timeouts.append(f"cheap rewrites stopped after {budget:g} s")
            break
        attempt.tried.append(name)
        try:
            with alarm(left):
                form = rewrite(expr)
                if accept(form):
                    return name, form
        except BudgetExceeded as exc:
            attempt.timeouts.append(f"{name} {exc}")
        except Exception as exc:  # noqa: BLE001 - a rewrite that crashes proves nothing
            attempt.failures.append(f"{name} raised {type(exc).__name__}: {exc}")
    return None


def _rewrites(expr: sp.Expr, budget: float, attempt: Attempt) -> Proof | None:
    found = first_rewrite(expr, _is_zero, budget, attempt)
    return Proof(found[0]) if found else None


def prepare_symbolic(expr: sp.Expr) -> sp.Expr:
    """Derivatives taken, integration variables with honest assumptions."""
    return honest_integration_variables(_doit_derivatives(expr))


def prepared_within(expr: sp.Expr, budget: float, attempt: Attempt) -> sp.Expr | None:
    """`prepare_symbolic(expr)` under `budget`; None (and the timeout noted) if it runs out."""
    try:
        with alarm(budget):
            return prepare_symbolic(expr)
    except BudgetExceeded as exc:
        attempt.timeouts.append(f"differentiation {exc}")
        return None


def prove_zero_cheap(expr: sp.Expr, budget: float, attempt: Attempt) -> Proof | None:
    """Cheap rewrites: derivatives taken, integrals merged, algebraic normal forms."""
    if _is_zero(expr):
        return Proof("identical")
    expr = prepared_within(expr, budget, attempt)
    if expr is None:
        return None
    proof = _rewrites(expr, budget, attempt)
    if proof or not expr.has(sp.Integral):
        return proof
    attempt.tried.append("merge-integrals")
    try:
        with alarm(budget):
            merged = _merge_integrals(expr)
    except BudgetExceeded as exc:
        attempt.timeouts.append(f"merge-integrals {exc}")
        return None
    proof = _integrand_zero(merged, budget, attempt)
    return Proof("merge-integrals, " + proof.method) if proof else None


def prove_zero_heavy(expr: sp.Expr, budget: float, attempt: Attempt) -> Proof | None:
    """`integrate` the integrals, then `simplify`; each under its own budget."""
    expr = prepare_symbolic(expr)
    if expr.has(sp.Integral):
        attempt.tried.append("integrate")
        try:
            with alarm(budget):
                evaluated = expr.doit()
        except BudgetExceeded as exc:
            attempt.timeouts.append(f"integrate {exc}")
            evaluated = None
        except Exception as exc:  # noqa: BLE001
            attempt.failures.append(f"integrate raised {type(exc).__name__}: {exc}")
            evaluated = None
        if evaluated is not None and not evaluated.has(sp.Integral):
            proof = _rewrites(evaluated, budget, attempt)
            if proof:
                return Proof("integrate, " + proof.method)
            expr = evaluated
    attempt.tried.append("simplify")
    try:
        with alarm(budget):
            if _is_zero(sp.simplify(expr)):
                return Proof("simplify")
    except BudgetExceeded as exc:
        attempt.timeouts.append(f"simplify {exc}")
    except Exception as exc:  # noqa: BLE001
        attempt.failures.append(f"simplify raised {type(exc).__name__}: {exc}")
    return None
