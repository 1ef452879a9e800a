"""`deriv mutate`: mutation testing of the checker on the derivations it accepts.

Every step deriv accepts (proved or numeric; not an expected refutation, not an experiment) is
a true claim. Small edits of its right-hand side -- the mistakes authors make -- give false
claims, *mutants*, and each must be refuted when checked exactly as the step is (same left side,
relation, domain, parameters, hint, certificate and sizes; `deriv.runner.check_step`, the same
ladder and verdict cache). Per mutant:

* killed      -- refuted (a counterexample stable at 50 and 80 digits and confirmed at 4x that
                 precision, the mutant real there);
* equivalent  -- not refuted, and *proved* to hold for the same reason as the step: the mutant's
                 rhs ≡ the step's rhs (for a const step: differs from it by a constant in the
                 parameters; for ≤/≥: implied by the step, rhs' ≥ rhs resp. ≤), with the proof;
* invalid     -- cannot be built or evaluated, or seen only with a non-real value (the log of
                 a negative sum), with the reason: not killed, since no real claim was refuted;
* survived    -- neither: the checker accepted (or could not decide) a claim that is not shown
                 to be true. A bug of the checker, or a mutant too weak to tell.

The operators: flip the sign of a term, double or halve it, drop it (the terms of the outermost
sum in the rhs; the whole rhs when it is a single term), add 1 and add a small constant (1e-6
of the rhs's typical size: it tests the high-precision re-check), swap the arguments of a KL
divergence or a cross-entropy, log a + log b → log(a + b) and log(a·b) → log(a + b), and for a
limit the value + 1 and + 1e-3. For an inequality `lhs ≤ rhs` a mutant must claim *more* to be
meaningful (a weaker claim is implied by the step, and a stronger one may still be true): the
reversed relation and the rhs lowered by 1 and by the small constant (for ≥ raised), which claim
more by design, and of the other edits those that are false at one of 16 probe points evaluated
at 30 digits (the others are listed as left out, with why). A const step ("= c + …") gets no
added constant: that is the step itself.

Mutants are checked without the diagnosis a refuted step gets (it explains a refutation and
never changes one), and their verdicts are cached apart (`<cache>/mutants`), so a mutant never
lands in the cache `deriv verify` reads with a verdict missing its diagnosis.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import re
import statistics
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef

from . import prob
from .model import RELATION_SYMBOLS, Derivation, Step
from .verdict import Status, Verdict

HELP = """\
Mutation testing: every step deriv accepts (proved or numeric) is edited into false claims
(mutants) that must be refuted when checked exactly as the step is.

Operators: flip the sign of a term, double or halve it, drop it; add 1 and a small constant
(1e-6 of the rhs's typical size); swap the arguments of a KL divergence or cross-entropy;
log a + log b -> log(a + b) and log(a*b) -> log(a + b); a limit's value + 1 and + 1e-3; for an
inequality, only stronger claims: the reversed relation, the bound tightened by 1 and by the
small constant, and the other edits only where they are false at a probe point.

Each mutant is killed (refuted), equivalent (proved to hold anyway, with the proof), invalid
(cannot be built or evaluated, or not real-valued where it was refuted) or survived (accepted
or undecided without an equivalence proof: a weakness of the checker or a too-weak mutant).
Kill rate = killed / (killed + survived).

Exit status: 0 no mutant survives, 1 some mutant survives, 2 usage error or a module that could
not be loaded.
"""

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
OUTCOMES = ("killed", "equivalent", "invalid", "survived")
OPERATORS = {
    "negate-term": "flip the sign of a term",
    "double-term": "scale a term by 2",
    "halve-term": "scale a term by 1/2",
    "drop-term": "drop a term",
    "add-one": "add 1 to the rhs",
    "add-small": "add a small constant (1e-6 of the rhs's typical size)",
    "swap-kl": "swap the arguments of a KL divergence or cross-entropy",
    "log-of-sum": "log a + log b -> log(a + b)",
    "log-product-to-sum": "log(a*b) -> log(a + b)",
    "reverse": "the reversed inequality",
    "tighten-one": "tighten the bound by 1",
    "tighten-small": "tighten the bound by the small constant",
    "limit-plus-one": "the limit's value + 1",
    "limit-plus-small": "the limit's value + 1e-3",
}
# operators whose mutant differs from the step by a nonzero constant: never equivalent
NEVER_EQUIVALENT = ("add-one", "add-small", "tighten-one", "tighten-small", "limit-plus-one",
                    "limit-plus-small")
INEQUALITIES = ("le", "ge", "lt", "gt")
REVERSED = {"le": "ge", "ge": "le", "lt": "gt", "gt": "lt"}
SMALL_RELATIVE = 6      # the small constant: 10^-6 of the rhs's typical size (a power of ten)
LIMIT_SMALL = sp.Rational(1, 1000)
MAX_TERMS = 12          # a sum of more terms is not a place an author drops one
PROBE_SECONDS = 180.0   # the probe of a step (typical size, inequality filter), killed after this
PROBE_POINTS = 16


# -- building mutants ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    """One edit of a step: the new right-hand side (or limit value) and relation."""

    operator: str
    description: str
    rhs: Any
    relation: str

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.relation}\x1f{sp.srepr(self.rhs)}".encode()).hexdigest()[:16]


def _children(node: sp.Basic) -> list[tuple[int, sp.Basic]]:
    """(argument position, argument) pairs an edit may go into: not the limits of a sum or an
    integral, not the variables of a derivative or of KL/H/CE/E, not a table's indices."""
    if isinstance(node, (sp.Sum, sp.Integral, sp.Product, sp.Derivative)):
        return [(0, node.args[0])]
    if isinstance(node, (AppliedUndef, sp.KroneckerDelta)) or node.is_Atom:
        return []
    if isinstance(node, (prob.KL, prob.CE, prob.E)):
        return [(0, node.args[0]), (1, node.args[1])]
    if isinstance(node, prob.H):
        return [(0, node.args[0])]
    return list(enumerate(node.args))


def _walk(expr: sp.Basic, path: tuple = ()) -> Iterator[tuple[tuple, sp.Basic]]:
    """Every (path, node) an edit may touch, in preorder."""
    yield path, expr
    for position, child in _children(expr):
        yield from _walk(child, path + (position,))


def _replace(expr: sp.Basic, path: tuple, new: sp.Basic) -> sp.Basic:
    """`expr` with the node at `path` (argument positions) replaced by `new`: one occurrence,
    not every identical subexpression."""
    if not path:
        return new
    args = list(expr.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    return expr.func(*args)


def _short(expr, width: int = 60) -> str:
    text = str(expr)
    return text if len(text) <= width else text[: width - 1] + "…"


def term_sites(rhs: sp.Expr) -> list[tuple[tuple, sp.Add]]:
    """The outermost sums of the rhs: (path, Add) at the smallest depth where one appears (the
    body of a Σ or an integral counts; sizes in limits and table indices do not)."""
    level = [((), rhs)]
    while level:
        found = [(path, node) for path, node in level
                 if isinstance(node, sp.Add) and not node.is_number and len(node.args) <= MAX_TERMS]
        if found:
            return found
        level = [(path + (i,), child) for path, node in level for i, child in _children(node)]
    return []


def term_mutants(rhs: sp.Expr, relation: str) -> list[Mutant]:
    """Flip, double, halve and drop each term of the outermost sum (the whole rhs if none)."""
    out = []
    sites = term_sites(rhs)
    if not sites:
        if rhs.is_zero:
            return []  # 0 has no term to edit
        return [Mutant("negate-term", "negate the right-hand side", -rhs, relation),
                Mutant("double-term", "double the right-hand side", 2 * rhs, relation),
                Mutant("halve-term", "halve the right-hand side", rhs / 2, relation)]
    for path, add in sites:
        terms = add.args
        for i, t in enumerate(terms):
            def edited(new_term, i=i):
                return _replace(rhs, path, sp.Add(*terms[:i], *([new_term] if new_term is not None else []),
                                                  *terms[i + 1:]))
            out.append(Mutant("negate-term", f"flip the sign of the term {_short(t)}", edited(-t), relation))
            out.append(Mutant("double-term", f"double the term {_short(t)}", edited(2 * t), relation))
            out.append(Mutant("halve-term", f"halve the term {_short(t)}", edited(t / 2), relation))
            out.append(Mutant("drop-term", f"drop the term {_short(t)}", edited(None), relation))
    return out


def swap_mutants(rhs: sp.Expr, relation: str) -> list[Mutant]:
    """KL(P, Q) → KL(Q, P) and CE(P, Q) → CE(Q, P), one occurrence at a time."""
    out = []
    for path, node in _walk(rhs):
        if isinstance(node, (prob.KL, prob.CE)):
            P, Q, *vars = node.args
            name = "KL" if isinstance(node, prob.KL) else "CE"
            out.append(Mutant("swap-kl", f"swap the arguments of {name}({_short(P, 30)}, {_short(Q, 30)})",
                              _replace(rhs, path, node.func(Q, P, *vars)), relation))
    return out


def _log_term(term: sp.Expr):
    """(coefficient, argument) when `term` is c·log(u) with a number c, else None."""
    coefficient, rest = term.as_coeff_Mul()
    if isinstance(rest, sp.log):
        return coefficient, rest.args[0]
    return None


def log_mutants(rhs: sp.Expr, relation: str) -> list[Mutant]:
    """c·log a + c·log b → c·log(a + b) in each sum that has such a pair, and log(a·b) → log(a + b)
    for each log of a product (a the first factor, b the others)."""
    out = []
    for path, node in _walk(rhs):
        if isinstance(node, sp.Add):
            seen: dict = {}
            for i, term in enumerate(node.args):
                found = _log_term(term)
                if found is None:
                    continue
                c, u = found
                if c in seen:
                    j, v = seen[c]
                    rest = [a for k, a in enumerate(node.args) if k not in (i, j)]
                    new = sp.Add(*rest, c * sp.log(v + u))
                    out.append(Mutant("log-of-sum", f"log {_short(v, 25)} + log {_short(u, 25)} → "
                                                    f"log({_short(v, 25)} + {_short(u, 25)})",
                                      _replace(rhs, path, new), relation))
                    break
                seen[c] = (i, u)
        elif isinstance(node, sp.log) and isinstance(node.args[0], sp.Mul):
            coefficient, product = node.args[0].as_coeff_Mul()
            factors = sp.Mul.make_args(product)
            if len(factors) < 2:
                continue
            a, b = factors[0], coefficient * sp.Mul(*factors[1:])
            out.append(Mutant("log-product-to-sum", f"log({_short(a, 25)}·{_short(b, 25)}) → "
                                                    f"log({_short(a, 25)} + {_short(b, 25)})",
                              _replace(rhs, path, sp.log(a + b)), relation))
    return out


def small_constant(scale: float | None) -> sp.Rational:
    """10^-6 of a typical size, as an exact power of ten (1e-6 when the size is 0 or unknown)."""
    if not scale or not math.isfinite(scale) or scale <= 0:
        return sp.Rational(1, 10 ** SMALL_RELATIVE)
    return sp.Integer(10) ** (math.floor(math.log10(scale)) - SMALL_RELATIVE)


def constant_mutants(step: Step, scale: float | None) -> list[Mutant]:
    """add-one/add-small for an identity; the bound tightened for an inequality; nothing for a
    const step (a constant added to a "= c + …" step is the step itself)."""
    small = small_constant(scale)
    if step.relation == "eq":
        return [Mutant("add-one", "add 1", step.rhs + 1, "eq"),
                Mutant("add-small", f"add {small}", step.rhs + small, "eq")]
    if step.relation in INEQUALITIES:
        sign = -1 if step.relation in ("le", "lt") else 1  # lower an upper bound, raise a lower one
        word = "lower" if sign < 0 else "raise"
        return [Mutant("tighten-one", f"{word} the bound by 1", step.rhs + sign, step.relation),
                Mutant("tighten-small", f"{word} the bound by {small}", step.rhs + sign * small, step.relation)]
    return []


def structural_mutants(step: Step) -> list[Mutant]:
    """Every mutant that needs no evaluation (all but the constants), in a fixed order."""
    if step.kind == "limit":
        return [Mutant("limit-plus-one", f"limit value {step.rhs} + 1", step.rhs + 1, "limit"),
                Mutant("limit-plus-small", f"limit value {step.rhs} + 1/1000", step.rhs + LIMIT_SMALL, "limit")]
    rhs = sp.sympify(step.rhs)
    out = []
    if step.relation in INEQUALITIES:
        out.append(Mutant("reverse", f"'{RELATION_SYMBOLS[REVERSED[step.relation]]}' instead of "
                                     f"'{RELATION_SYMBOLS[step.relation]}'", rhs, REVERSED[step.relation]))
    out += term_mutants(rhs, step.relation)
    out += swap_mutants(rhs, step.relation)
    out += log_mutants(rhs, step.relation)
    return out


DESIGNED = ("reverse", "tighten-one", "tighten-small")  # an inequality's mutants that claim more by design


def mutable(step: Step) -> bool:
    """A claim that has mutants: not an experiment, an unreadable line of a document, an
    approximation (≈ is never refuted) or an expected refutation."""
    return step.kind in ("relation", "limit") and step.relation != "approx" and step.expect is None


def candidates(step: Step, scale: float | None) -> list[Mutant]:
    """Every mutant of a step, duplicates removed, in a fixed order that depends only on the step
    and the typical size `scale` (so a worker rebuilds exactly the list the planner numbered).
    An inequality's designed mutants come first: an edit that duplicates one is the designed one."""
    structural = structural_mutants(step)
    constants = constant_mutants(step, scale) if step.kind == "relation" else []
    if step.relation in INEQUALITIES:
        ordered = structural[:1] + constants + structural[1:]
    else:
        ordered = structural + constants
    out, seen = [], set()
    for m in ordered:
        key = (m.relation, sp.srepr(m.rhs))
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


@dataclass
class Plan:
    """The mutants of one step (with their positions in `candidates(step, scale)`), and the edits
    left out, with why."""

    mutants: list[Mutant]
    positions: list[int] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    scale: float | None = None
    note: str = ""


def _uniform_probe(step: Step, domain: dict):
    """diagnosis.Probe at PROBE_POINTS uniform points strictly inside every interval (its own
    points favour typical ones away from the ends; with many logits few of them are left)."""
    import numpy as np

    from .diagnosis import Probe
    from .domain import stable_seed

    class UniformProbe(Probe):
        def _points(self, counterexample, moving):
            rng = np.random.default_rng(stable_seed("mutate", *map(str, self.symbols)))
            return [[float(rng.uniform(lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo)))
                     for _, lo, hi in self.domain.intervals] for _ in range(PROBE_POINTS)]

    return UniformProbe(step.lhs, step.rhs, step.relation, domain=domain, wrt=step.wrt)


def _probe(step: Step, domain: dict, edits: list) -> dict:
    """In a budgeted child: the rhs's values at the probe points (floats; None where undefined),
    and for an inequality whether each edit's claim fails at some probe point (None: undefined
    at every point)."""
    import mpmath

    probe = _uniform_probe(step, domain)
    out = {"rhs": [None if v is None else float(v) for v in probe.rhs_values or []], "fails": []}
    sign = 1 if step.relation in ("le", "lt") else -1
    for edit in edits:
        try:
            values = probe.values(edit)
        except Exception:  # noqa: BLE001 - an edit that cannot be evaluated: the checker says why
            values = None
        pairs = [(L, R) for L, R in zip(probe.lhs_values, values or []) if L is not None and R is not None]
        if not pairs:
            out["fails"].append(None)
            continue
        with mpmath.workdps(30):
            out["fails"].append(any(sign * (L - R) > mpmath.mpf(10) ** -15 * max(1, abs(L), abs(R))
                                    for L, R in pairs))
    return out


def plan_mutants(step: Step, derivation: Derivation) -> Plan:
    """The mutants of one accepted step: `candidates`, with the small constant sized by a probe of
    the rhs, and for an inequality only the edits that are false at some probe point (besides the
    designed ones: the reversed relation and the tightened bounds)."""
    from . import budget as budgets

    plan = Plan([])
    probed = step.kind == "relation" and step.relation != "const"  # const: no constant, no filter
    inequality = step.relation in INEQUALITIES
    fails: dict = {}
    if probed:
        domain = {**derivation.domain, **(step.domain or {})}
        edits = [m.rhs for m in structural_mutants(step) if m.operator not in DESIGNED] if inequality else []
        outcome = budgets.run(_probe, step, domain, edits, seconds=PROBE_SECONDS)
        if outcome.ok:
            sizes = sorted(abs(v) for v in outcome.value["rhs"] if v is not None and math.isfinite(v))
            plan.scale = statistics.median(sizes) if sizes else None
            fails = {sp.srepr(e): f for e, f in zip(edits, outcome.value["fails"])}
        else:
            why = "timed out" if outcome.timed_out else outcome.error
            plan.note = f"the step could not be probed ({why}): small constant 1e-6" + (
                "; no edit other than the designed ones" if inequality else "")
    for position, m in enumerate(candidates(step, plan.scale)):
        if inequality and m.operator not in DESIGNED:
            verdict = fails.get(sp.srepr(m.rhs))
            if verdict is not True:
                why = ("holds at every probe point: a weaker claim is implied by the step, a stronger "
                       "one may still be true" if verdict is False else
                       "undefined at every probe point" if sp.srepr(m.rhs) in fails else "the step was not probed")
                plan.left_out.append({"operator": m.operator, "description": m.description, "rhs": str(m.rhs),
                                      "why": why})
                continue
        plan.mutants.append(m)
        plan.positions.append(position)
    return plan


# -- checking one mutant ----------------------------------------------------------------------------

class MutantCache:
    """Reads the shared verdict cache, writes to `<cache>/mutants` only (see the module doc)."""

    def __init__(self, shared):
        from .cache import VerdictCache

        self.shared = shared
        self.enabled = shared.enabled
        self.own = VerdictCache(Path(shared.directory) / "mutants", enabled=shared.enabled)
        self.directory = shared.directory

    def get(self, key: str) -> Verdict | None:
        return self.shared.get(key) or self.own.get(key)

    def put(self, key: str, verdict: Verdict) -> None:
        self.own.put(key, verdict)


def _no_diagnosis(step, derivation, verdict, timeout, sampling) -> dict:
    return {"kind": "skipped", "summary": "a mutant: no diagnosis", "residual": None, "suggestion": None,
            "tried": 0}


@contextlib.contextmanager
def without_diagnosis():
    """check_step without the diagnosis of a refutation (minutes per refuted mutant, and it never
    changes a status)."""
    from . import runner

    original = runner.diagnose_step
    runner.diagnose_step = _no_diagnosis
    try:
        yield
    finally:
        runner.diagnose_step = original


def mutant_step(step: Step, mutant: Mutant) -> Step:
    """The step with the mutant's rhs (or limit value) and relation; everything else as it is."""
    return replace(step, rhs=mutant.rhs, relation=mutant.relation, expect=None)


def equivalence_steps(step: Step, mutant: Mutant) -> list[tuple[str, Step]]:
    """Claims whose proof shows the mutant holds for the same reason as the step."""
    if mutant.operator in NEVER_EQUIVALENT:
        return []
    if mutant.operator == "reverse":  # lhs ≥ rhs holds with lhs ≤ rhs only if lhs ≡ rhs
        return [("lhs ≡ rhs", replace(step, relation="eq", certificate=None, expect=None))]
    if step.kind == "limit":
        return [("the same value", replace(step, kind="relation", lhs=step.rhs, rhs=mutant.rhs, relation="eq",
                                           var=None, point=None, expect=None))]
    base = replace(step, lhs=step.rhs, rhs=mutant.rhs, certificate=None, expect=None)
    if step.relation == "const":
        return [("rhs' − rhs is constant in the parameters", replace(base, relation="const"))]
    claims = [("rhs' ≡ rhs", replace(base, relation="eq", wrt=()))]
    if step.relation in INEQUALITIES:
        implied = "le" if step.relation in ("le", "lt") else "ge"  # rhs ≤ rhs' implies lhs ≤ rhs'
        claims.append((f"implied: rhs {RELATION_SYMBOLS[implied]} rhs'", replace(base, relation=implied, wrt=())))
    return claims


@dataclass(frozen=True)
class MutantResult:
    derivation: int
    step: int
    number: int
    operator: str
    description: str
    relation: str
    rhs: str
    outcome: str            # killed | equivalent | invalid | survived
    status: str             # the mutant's verdict
    method: str
    detail: str
    seconds: float
    cached: bool = False
    proof: dict | None = None       # equivalent: the claim proved and how; survived: what was tried
    counterexample: dict | None = None
    reason: str | None = None       # invalid: why it cannot be evaluated


# how the numeric screen prints a complex value: mpmath.nstr of an mpc, "(1.3 + 3.14j)"
_COMPLEX = re.compile(r"\(\s*[-+]?[\d.]+(?:e[-+]?\d+)?\s*([-+])\s*([\d.]+(?:e[-+]?\d+)?)j\)")


def _is_complex(text) -> bool:
    return any(float(m.group(2)) != 0 for m in _COMPLEX.finditer(str(text or "")))


def not_real(verdict: Verdict, relation: str) -> str | None:
    """Why a refuted or undecided mutant was only seen with a non-real value (the log or square
    root of a negative number): then it cannot be evaluated as a real claim and is invalid, not
    killed. The step's own left side is real (it was accepted), so a complex value is the mutant's."""
    evidence = verdict.evidence or {}
    if verdict.status is Status.REFUTED:
        # a const step's refutation compares lhs − rhs' at two points: complex if rhs' is
        sides = ("lhs_value", "rhs_value") if relation == "const" else ("rhs_value",)
        for side in sides:
            if _is_complex(evidence.get(side)):
                where = dict(verdict.counterexample or {})
                return f"the mutant is not real-valued where the sides differ ({side} = {evidence.get(side)} at {where})"
        return None
    if verdict.status is Status.UNKNOWN:
        found = re.search(r"rhs\s*=\s*(\([^)]*j\))", verdict.detail or "")
        if found and _is_complex(found.group(1)):
            return f"the mutant is not real-valued at the points it was evaluated (rhs = {found.group(1)})"
    return None


def classify(step: Step, derivation: Derivation, mutant: Mutant, cache, timeout: float | None,
             sampling) -> tuple[str, Verdict, bool, dict | None]:
    """(outcome, the mutant's verdict, cached, proof) -- see the module doc. `proof` is, for an
    invalid mutant, {"reason": ...}."""
    from .runner import check_step

    with without_diagnosis():
        verdict, cached = check_step(mutant_step(step, mutant), derivation, cache, timeout, sampling)
        complex_valued = not_real(verdict, step.relation)
        if complex_valued:
            return "invalid", verdict, cached, {"reason": complex_valued}
        if verdict.status is Status.REFUTED:
            return "killed", verdict, cached, None
        if verdict.status is Status.ERROR:
            return "invalid", verdict, cached, {"reason": verdict.detail}
        attempts = []
        for claim, claim_step in equivalence_steps(step, mutant):
            proof, _ = check_step(claim_step, derivation, cache, timeout, sampling)
            attempts.append({"claim": claim, "status": proof.status.value, "method": proof.method,
                             "detail": proof.detail})
            if proof.status is Status.PROVED:
                return "equivalent", verdict, cached, attempts[-1]
    tried = {"claim": "none", "status": "not tried",
             "detail": "differs from the step by a nonzero constant"} if not attempts else attempts[-1]
    if len(attempts) > 1:
        tried = {**tried, "also": attempts[:-1]}
    return "survived", verdict, cached, tried


# -- running (a process pool over mutants) --------------------------------------------------------

@dataclass
class StepPlan:
    derivation: int
    step: int
    line: int | None
    relation: str
    kind: str
    lhs: str
    rhs: str
    status: str
    method: str
    accepted: bool
    mutants: list[dict] = field(default_factory=list)   # number, operator, description, relation, rhs, fingerprint
    left_out: list[dict] = field(default_factory=list)
    note: str = ""
    chosen: list[int] = field(default_factory=list)
    scale: float | None = None


@dataclass
class DerivationMutations:
    id: str
    title: str
    file: str
    plans: list[StepPlan]
    results: list[MutantResult]

    def counts(self) -> dict:
        return tally(self.results)


@dataclass
class MutationRun:
    derivations: list[DerivationMutations]
    failures: list
    seconds: float
    options: dict

    def results(self) -> list[MutantResult]:
        return [r for d in self.derivations for r in d.results]

    def survivors(self) -> list[tuple[DerivationMutations, MutantResult]]:
        return [(d, r) for d in self.derivations for r in d.results if r.outcome == "survived"]

    def summary(self) -> dict:
        plans = [p for d in self.derivations for p in d.plans]
        return {"derivations": len(self.derivations), "steps": len(plans),
                "steps_mutated": sum(1 for p in plans if p.accepted),
                "steps_skipped": sum(1 for p in plans if not p.accepted),
                **tally(self.results()), "load_errors": len(self.failures), "seconds": round(self.seconds, 1)}


def tally(results: Sequence[MutantResult]) -> dict:
    counts = {"mutants": len(results), **{o: 0 for o in OUTCOMES}}
    for r in results:
        counts[r.outcome] += 1
    decided = counts["killed"] + counts["survived"]
    counts["kill_rate"] = round(counts["killed"] / decided, 4) if decided else None
    return counts


_FOUND: list[tuple[Path, Derivation]] = []   # set before the pool forks: workers inherit it
_CANDIDATES: dict[tuple, list[Mutant]] = {}   # per process: a step's candidates, built once


def _candidates_of(d: int, index: int, scale: float | None) -> list[Mutant]:
    if (d, index, scale) not in _CANDIDATES:
        _CANDIDATES[(d, index, scale)] = candidates(_FOUND[d][1].steps[index - 1], scale)
    return _CANDIDATES[(d, index, scale)]


def _caches(use_cache: bool, cache_directory: str | None):
    from .cache import VerdictCache

    shared = VerdictCache(Path(cache_directory) if cache_directory else None, enabled=use_cache)
    return shared, MutantCache(shared)


def plan_step(d: int, index: int, use_cache: bool, cache_directory: str | None, timeout, sampling) -> StepPlan:
    """Check the step itself (as `deriv verify` does) and, if it is accepted, list its mutants."""
    from .runner import check_step

    path, derivation = _FOUND[d]
    step = derivation.steps[index - 1]
    shared, _ = _caches(use_cache, cache_directory)
    verdict, _ = check_step(step, derivation, shared, timeout, sampling)
    accepted = verdict.status in (Status.PROVED, Status.NUMERIC)
    out = StepPlan(d, index, step.line, step.relation, step.kind, str(step.lhs), str(step.rhs),
                   verdict.status.value, verdict.method, accepted)
    if not accepted:
        out.note = f"not accepted ({verdict.status.value}: {verdict.detail[:200]}): not mutated"
        return out
    try:
        plan = plan_mutants(step, derivation)
    except Exception as exc:  # noqa: BLE001 - the step is reported, the run goes on
        out.accepted = False
        out.note = f"mutants could not be built: {type(exc).__name__}: {exc}"
        return out
    out.mutants = [{"number": n, "operator": m.operator, "description": m.description,
                    "relation": m.relation, "rhs": str(m.rhs), "fingerprint": m.fingerprint()}
                   for n, m in zip(plan.positions, plan.mutants)]
    out.left_out, out.note, out.scale = plan.left_out, plan.note, plan.scale
    return out


def check_mutant(d: int, index: int, number: int, fingerprint: str, scale: float | None, use_cache: bool,
                 cache_directory: str | None, timeout, sampling) -> MutantResult:
    """Rebuild mutant `number` of a step (its position in `candidates(step, scale)`) and check it."""
    start = time.monotonic()
    _, derivation = _FOUND[d]
    step = derivation.steps[index - 1]
    try:
        mutant = _candidates_of(d, index, scale)[number]
    except Exception as exc:  # noqa: BLE001
        return MutantResult(d, index, number, "?", "?", step.relation, "?", "invalid", "error", "mutate",
                            f"the mutant could not be built: {type(exc).__name__}: {exc}", 0.0,
                            reason=f"the mutant could not be built: {type(exc).__name__}: {exc}")
    if mutant.fingerprint() != fingerprint:  # never expected: candidates() is deterministic
        return MutantResult(d, index, number, mutant.operator, mutant.description, mutant.relation,
                            str(mutant.rhs), "invalid", "error", "mutate",
                            "the mutant built in the worker differs from the one planned", 0.0,
                            reason="the mutant built in the worker differs from the one planned")
    _, cache = _caches(use_cache, cache_directory)
    try:
        outcome, verdict, cached, proof = classify(step, derivation, mutant, cache, timeout, sampling)
    except Exception as exc:  # noqa: BLE001 - a mutant that breaks the checker cannot be evaluated
        return MutantResult(d, index, number, mutant.operator, mutant.description, mutant.relation,
                            str(mutant.rhs), "invalid", "error", "mutate",
                            f"checking raised {type(exc).__name__}: {exc}", time.monotonic() - start,
                            reason=f"checking raised {type(exc).__name__}: {exc}")
    reason = proof.pop("reason") if outcome == "invalid" else None
    return MutantResult(d, index, number, mutant.operator, mutant.description, mutant.relation, str(mutant.rhs),
                        outcome, verdict.status.value, verdict.method, verdict.detail,
                        round(time.monotonic() - start, 3), cached, proof or None,
                        None if verdict.counterexample is None else dict(verdict.counterexample), reason)


def choose(plan: StepPlan, derivation_id: str, max_per_step: int | None, seed: int) -> list[int]:
    """The mutants to check: all, or a seeded sample of `max_per_step` (in their order)."""
    numbers = [m["number"] for m in plan.mutants]
    if max_per_step is None or len(numbers) <= max_per_step:
        return numbers
    rng = random.Random(f"{seed}\x1f{derivation_id}\x1f{plan.step}")
    return sorted(rng.sample(numbers, max_per_step))


def run(paths: Sequence[str | Path], *, jobs: int = 1, keyword: str | None = None,
        max_per_step: int | None = None, seed: int = 0, use_cache: bool = True,
        cache_directory: Path | None = None, timeout: float | None = None, sampling=None,
        on_planned: Callable[[StepPlan], None] | None = None,
        on_result: Callable[[MutantResult], None] | None = None,
        on_collected: Callable[[list], None] | None = None) -> MutationRun:
    """Mutate every accepted step of the derivations under `paths` and check every mutant."""
    import multiprocessing

    from .numeric import Sampling
    from .runner import collect

    start = time.monotonic()
    found, failures = collect(paths)
    if keyword:
        needle = keyword.lower()
        found = [(p, d) for p, d in found if needle in d.id.lower() or needle in d.title.lower()]
    if on_collected:
        on_collected(found)
    sampling = sampling or Sampling()
    directory = str(cache_directory) if cache_directory else None
    tasks = [(i, s.index) for i, (_, d) in enumerate(found) for s in d.steps if mutable(s)]
    if use_cache:  # the engine's fingerprint of the code loaded now, before any worker forks
        from .cache import engine_fingerprint
        engine_fingerprint()
    _FOUND[:] = found
    _CANDIDATES.clear()
    plans: dict[tuple[int, int], StepPlan] = {}
    results: dict[tuple[int, int, int], MutantResult] = {}

    def planned(plan: StepPlan) -> list[tuple[int, int, int, str]]:
        plans[(plan.derivation, plan.step)] = plan
        if plan.accepted:
            plan.chosen = choose(plan, found[plan.derivation][1].id, max_per_step, seed)
        if on_planned:
            on_planned(plan)
        fingerprints = {m["number"]: m["fingerprint"] for m in plan.mutants}
        return [(plan.derivation, plan.step, n, fingerprints[n], plan.scale) for n in plan.chosen]

    def finished(result: MutantResult) -> None:
        results[(result.derivation, result.step, result.number)] = result
        if on_result:
            on_result(result)

    options = (use_cache, directory, timeout, sampling)
    try:
        if jobs <= 1:
            for d, index in tasks:
                for task in planned(plan_step(d, index, *options)):
                    finished(check_mutant(*task, *options))
        else:
            context = multiprocessing.get_context("fork")  # workers inherit _FOUND
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                pending = {pool.submit(plan_step, d, index, *options): ("plan", d, index) for d, index in tasks}
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        what = pending.pop(future)
                        if what[0] == "plan":
                            try:
                                plan = future.result()
                            except Exception as exc:  # noqa: BLE001 - a dead worker skips its step
                                _, d, index = what
                                step = found[d][1].steps[index - 1]
                                plan = StepPlan(d, index, step.line, step.relation, step.kind, str(step.lhs),
                                                str(step.rhs), "error", "worker", False,
                                                note=f"worker process failed: {type(exc).__name__}: {exc}")
                            for task in planned(plan):
                                pending[pool.submit(check_mutant, *task, *options)] = ("mutant", *task)
                        else:
                            try:
                                finished(future.result())
                            except Exception as exc:  # noqa: BLE001
                                _, d, index, number, _fp, _scale = what
                                m = next(m for m in plans[(d, index)].mutants if m["number"] == number)
                                finished(MutantResult(d, index, number, m["operator"], m["description"],
                                                      m["relation"], m["rhs"], "invalid", "error", "worker",
                                                      f"worker process failed: {type(exc).__name__}: {exc}", 0.0,
                                                      reason=f"worker process failed: {type(exc).__name__}: {exc}"))
    finally:
        _FOUND.clear()
        _CANDIDATES.clear()

    derivations = []
    for i, (path, derivation) in enumerate(found):
        step_plans = [plans[(i, s.index)] for s in derivation.steps if (i, s.index) in plans]
        chosen = [results[(i, p.step, n)] for p in step_plans for n in p.chosen]
        derivations.append(DerivationMutations(derivation.id, derivation.title, str(path), step_plans, chosen))
    return MutationRun(derivations, failures, time.monotonic() - start,
                       {"max_per_step": max_per_step, "seed": seed, "timeout": timeout,
                        "cache": use_cache, "jobs": jobs, "keyword": keyword})


# -- reporting ----------------------------------------------------------------------------------------

def run_json(run: MutationRun) -> dict:
    def result_json(r: MutantResult) -> dict:
        return {"number": r.number, "operator": r.operator, "description": r.description,
                "relation": r.relation, "rhs": r.rhs, "outcome": r.outcome, "status": r.status,
                "method": r.method, "detail": r.detail, "seconds": r.seconds, "cached": r.cached,
                "proof": r.proof, "reason": r.reason, "counterexample": r.counterexample}

    out = {"summary": run.summary(), "options": run.options, "operators": OPERATORS, "derivations": []}
    for d in run.derivations:
        steps = []
        for p in d.plans:
            steps.append({"index": p.step, "line": p.line, "relation": p.relation, "kind": p.kind,
                          "lhs": p.lhs, "rhs": p.rhs, "status": p.status, "method": p.method,
                          "mutated": p.accepted, "note": p.note or None, "mutants_made": len(p.mutants),
                          "scale": p.scale,
                          "left_out": p.left_out,
                          "mutants": [result_json(r) for r in d.results if r.step == p.step]})
        out["derivations"].append({"id": d.id, "title": d.title, "file": d.file, **d.counts(), "steps": steps})
    out["load_errors"] = [{"file": f.file, "message": f.message} for f in run.failures]
    return out


def write_json(run: MutationRun, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(run_json(run), handle, indent=2, ensure_ascii=False, default=str)
        handle.write("\n")


def _rate(counts: dict) -> str:
    return "–" if counts["kill_rate"] is None else f"{100 * counts['kill_rate']:.1f}%"


def _step_label(d: DerivationMutations, step: int) -> str:
    plan = next(p for p in d.plans if p.step == step)
    return f"step {step} (line {plan.line if plan.line is not None else '–'})"


def print_report(run: MutationRun, console, verbose: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Mutation testing", title_justify="left", expand=False)
    table.add_column("derivation", no_wrap=True)
    for name, justify in (("steps", "right"), ("mutants", "right"),
                          ("killed", "right"), ("equivalent", "right"), ("invalid", "right"),
                          ("survived", "right"), ("kill rate", "right")):
        table.add_column(name, justify=justify)
    for d in run.derivations:
        c = d.counts()
        mutated = sum(1 for p in d.plans if p.accepted)
        table.add_row(d.id, f"{mutated}/{len(d.plans)}", str(c["mutants"]), str(c["killed"]), str(c["equivalent"]),
                      str(c["invalid"]), Text(str(c["survived"]), style="bold red" if c["survived"] else ""),
                      _rate(c))
    total = run.summary()
    table.add_section()
    table.add_row("total", f"{total['steps_mutated']}/{total['steps']}", str(total["mutants"]), str(total["killed"]),
                  str(total["equivalent"]), str(total["invalid"]),
                  Text(str(total["survived"]), style="bold red" if total["survived"] else ""), _rate(total),
                  style="bold")
    console.print(table)

    if verbose:
        for d in run.derivations:
            if not d.results:
                continue
            detail = Table(title=d.id, title_justify="left", expand=False, show_lines=False)
            for name in ("step", "operator", "mutant", "outcome", "verdict"):
                detail.add_column(name, overflow="fold")
            for r in d.results:
                detail.add_row(_step_label(d, r.step), r.operator, _short(r.rhs, 70), r.outcome,
                               f"{r.status} ({r.method})")
            console.print(detail)

    skipped = [(d, p) for d in run.derivations for p in d.plans if not p.accepted]
    if skipped:
        console.print(f"[bold]Steps not mutated ({len(skipped)})[/]: " + "; ".join(
            f"{d.id} {_step_label(d, p.step)}: {p.status}" for d, p in skipped))
    invalid = [(d, r) for d in run.derivations for r in d.results if r.outcome == "invalid"]
    if invalid:
        console.print(f"[bold magenta]Invalid mutants ({len(invalid)})[/]")
        for d, r in invalid:
            reason = r.reason or r.detail
            console.print(f"  {d.id} {_step_label(d, r.step)} [{r.operator}] {_short(r.rhs, 80)}\n"
                          f"      {_short(reason, 200)}", highlight=False, markup=False)
    equivalent = [(d, r) for d in run.derivations for r in d.results if r.outcome == "equivalent"]
    if equivalent:
        console.print(f"[bold]Equivalent mutants ({len(equivalent)})[/]")
        for d, r in equivalent:
            console.print(f"  {d.id} {_step_label(d, r.step)} [{r.operator}] {r.description}\n"
                          f"      proved {r.proof['claim']} by {r.proof['method']}", highlight=False, markup=False)
    survivors = run.survivors()
    if survivors:
        console.print(f"[bold red]SURVIVORS ({len(survivors)}): mutants the checker did not refute[/]")
        for d, r in survivors:
            plan = next(p for p in d.plans if p.step == r.step)
            lhs = _short(plan.lhs, 80) if plan.kind != "limit" else f"lim {_short(plan.lhs, 60)}"
            console.print(f"  [bold]{escape(d.id)}[/] {_step_label(d, r.step)} {escape(f'[{r.operator}]')} "
                          f"{escape(r.description)}", highlight=False)
            console.print(f"      mutant:  {lhs} {RELATION_SYMBOLS.get(r.relation, r.relation)} {_short(r.rhs, 120)}\n"
                          f"      verdict: {r.status} ({r.method}): {_short(r.detail, 240)}\n"
                          f"      equivalence: {r.proof.get('claim') if r.proof else '–'} — "
                          f"{r.proof.get('status') if r.proof else '–'}", highlight=False, markup=False)
    for f in run.failures:
        console.print(f"[bold red]load error[/] {f.message}", highlight=False)
    console.print(f"{total['mutants']} mutants of {total['steps_mutated']} steps: {total['killed']} killed, "
                  f"{total['equivalent']} equivalent, {total['invalid']} invalid, {total['survived']} survived — "
                  f"kill rate {_rate(total)} (killed / (killed + survived)); {run.seconds:.0f} s",
                  style="bold red" if total["survived"] else "bold green", highlight=False)


# -- command line -------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="derivation modules (.py) or folders of them; default: the bundled derivations. "
                             "Loading a module runs its code.")
    parser.add_argument("-k", metavar="TEXT", dest="keyword",
                        help="only derivations whose id or title contains TEXT (case-insensitive)")
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="check mutants in N processes (default: all cores)")
    parser.add_argument("--max-per-step", type=int, default=None, metavar="N",
                        help="at most N mutants per step, a sample chosen with --seed (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write every mutant and its outcome as JSON to FILE")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the verdict cache")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time budget per check, as for verify (default 120 s)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the --max-per-step sample (default 0)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every mutant, not only the survivors")


def main(args) -> int:
    import os

    from rich.console import Console

    from . import runner
    from .cli import derivation_paths, exit_status, live_progress

    # piped to a file: wide enough for the table's derivation ids (COLUMNS still wins)
    console = Console(highlight=False, width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)
    errors = Console(stderr=True, highlight=False)
    if args.jobs is not None and args.jobs < 1:
        errors.print("deriv mutate: --jobs must be at least 1")
        return EXIT_USAGE
    if args.max_per_step is not None and args.max_per_step < 1:
        errors.print("deriv mutate: --max-per-step must be at least 1")
        return EXIT_USAGE
    if args.timeout is not None and args.timeout <= 0:
        errors.print("deriv mutate: --timeout must be positive")
        return EXIT_USAGE
    paths = derivation_paths(args.paths, errors, "deriv mutate")
    if paths is None:
        return EXIT_USAGE
    progress, task = live_progress(errors)
    counts = {o: 0 for o in OUTCOMES}
    total = {"n": 0}

    def show():
        return f"✗{counts['killed']} ={counts['equivalent']} !{counts['invalid']} ?{counts['survived']}"

    def on_collected(found):
        total["n"] = sum(1 for _, d in found for s in d.steps if mutable(s))
        progress.update(task, total=total["n"], description="checking steps")

    def on_planned(plan):
        total["n"] += len(plan.chosen)
        progress.update(task, total=total["n"], advance=1)

    def on_result(result):
        counts[result.outcome] += 1
        progress.update(task, advance=1, description=f"mutants ({result.operator})", tally=show())

    with progress:
        result = run(paths, jobs=args.jobs or runner.default_jobs(), keyword=args.keyword,
                     max_per_step=args.max_per_step, seed=args.seed, use_cache=not args.no_cache,
                     timeout=args.timeout, on_collected=on_collected, on_planned=on_planned,
                     on_result=on_result)
    print_report(result, console, verbose=args.verbose)
    if args.json:
        write_json(result, args.json)
        console.print(f"JSON written to {args.json}")
    return exit_status(args, result, errors, "deriv mutate",
                       failed=any(r.outcome == "survived" for r in result.results()))
