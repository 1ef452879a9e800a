"""Checking steps over discrete distributions: proof at small sizes, evidence at larger ones.

A step written with tables and sums (deriv.prob) is made concrete at several support sizes and
checked there with the ordinary ladder: symbolically (and numerically) at the small proof sizes,
numerically at larger sampled sizes. The verdict names the sizes of each kind; a proof at some
sizes is never presented as a proof for all sizes.

Inequalities may carry a certificate: an expression claimed equal to the gap (rhs - lhs for
≤) whose nonnegativity follows from a lemma deriv recognises structurally -- Gibbs (a KL
divergence between distributions proved normalised), Jensen for log (log E_P[f] ≥ E_P[log f]),
and nonnegative combinations of those (positive weights, sums). The identity and the
normalisations are proved at each proof size; then the lemma gives `proved` at those sizes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from . import budget as budgets
from . import prob
from .checks import check
from .numeric import Sampling
from .symbolic import Attempt, prove_zero_cheap
from .verdict import Status, Verdict


class Jensen(sp.Function):
    """The Jensen gap log E_P[f] - E_P[log f] (≥ 0 for normalised P, positive f)."""

    nargs = None

    def expanded(self) -> sp.Expr:
        P, f, *vars = self.args
        return sp.log(prob.S(P * f, *vars)) - prob.S(P * sp.log(f), *vars)


CERTIFICATES = (prob.KL, Jensen)


@dataclass(frozen=True)
class Lemma:
    """Why a certificate is nonnegative, and what must be proved for that to hold."""

    names: tuple[str, ...]
    normalised: tuple[tuple[sp.Expr, tuple], ...]  # (P, vars): Σ_vars P must be 1
    problem: str = ""


def lemma_for(gap: sp.Expr) -> Lemma:
    """Recognise `gap` as nonnegative by Gibbs/Jensen and positive combinations of them."""
    names, normalised = [], []

    def nonneg(e) -> str:
        if isinstance(e, prob.KL):
            P, Q, *vars = e.args
            if P.is_positive is not True or Q.is_positive is not True:
                return f"Gibbs' inequality needs positive distributions; not known for {P} and {Q}"
            names.append("Gibbs (KL ≥ 0)")
            normalised.extend([(P, tuple(vars)), (Q, tuple(vars))])
            return ""
        if isinstance(e, Jensen):
            P, f, *vars = e.args
            if f.is_positive is not True or P.is_positive is not True:
                return f"Jensen needs a positive distribution and integrand, not {P} and {f}"
            names.append("Jensen (log E[f] ≥ E[log f])")
            normalised.append((P, tuple(vars)))
            return ""
        if isinstance(e, (sp.Add, sp.Mul)):
            for arg in e.args:
                problem = nonneg(arg)
                if problem:
                    return problem
            return ""
        if isinstance(e, sp.Sum):
            return nonneg(e.function)
        if isinstance(e, prob.E):
            P, f, *vars = e.args
            return nonneg(P) or nonneg(f)
        if e.is_nonnegative:
            return ""
        return f"no lemma shows {e} ≥ 0"

    problem = nonneg(gap)
    return Lemma(tuple(dict.fromkeys(names)), tuple(normalised), problem)


def _expand_certificates(expr):
    return expr.replace(lambda e: isinstance(e, CERTIFICATES[1:]), lambda e: e.expanded())


@dataclass
class SizeResult:
    label: str
    proof_size: bool
    verdict: Verdict
    instance: prob.Instance | None = None


def check_prob_step(lhs, rhs, relation: str, *, wrt=None, certificate=None, timeout=None,
                    hint=None, sampling: Sampling | None = None) -> Verdict:
    """The verdict of a step over distributions, over a plan of support sizes."""
    start = time.monotonic()
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    lhs, rhs = _expand_certificates(lhs), _expand_certificates(rhs)
    exprs = [lhs, rhs] + ([certificate] if certificate is not None else [])
    vars = prob.index_vars(*[_expand_certificates(e) for e in exprs])
    free = prob.free_indices(lhs, rhs)
    prove_sizes, sample_sizes = prob.size_plan(vars)
    lemma = lemma_for(certificate) if certificate is not None else None
    if lemma and lemma.problem:
        return Verdict(Status.ERROR, "certificate", f"the certificate is not recognised as nonnegative: "
                       f"{lemma.problem}", seconds=time.monotonic() - start)

    results: list[SizeResult] = []
    plan = [(s, True) for s in prove_sizes] + [(s, False) for s in sample_sizes]
    for sizes, proving in plan:
        for assignment in prob.free_assignments(free, sizes, limit=2 if proving else 1):
            try:
                instance = prob.instantiate(lhs, rhs, sizes, assignment)
            except (ValueError, TypeError, KeyError) as exc:
                return Verdict(Status.ERROR, "instantiate", f"{type(exc).__name__}: {exc}",
                               seconds=time.monotonic() - start)
            try:
                verdict = _check_instance(instance, relation, wrt, certificate, lemma, proving, timeout,
                                          hint, sampling)
            except (ValueError, TypeError, KeyError) as exc:
                verdict = Verdict(Status.ERROR, "instantiate", f"at {instance.label()}: {type(exc).__name__}: {exc}")
            results.append(SizeResult(instance.label(), proving, verdict, instance))
            if verdict.status is Status.REFUTED:
                return _refuted(results[-1], relation, time.monotonic() - start)
    return _aggregate(results, lemma, time.monotonic() - start)


def _wrt_logits(instance: prob.Instance, wrt) -> tuple[sp.Symbol, ...]:
    if not wrt:
        return instance.model_logits
    names = {t.name if isinstance(t, prob.Table) else str(t) for t in wrt}
    return tuple(a for a in instance.model_logits + instance.data_logits
                 if prob.table_of_logit(a) in names)


def _check_instance(instance, relation, wrt, certificate, lemma, proving, timeout, hint,
                    sampling: Sampling | None) -> Verdict:
    domain = instance.domain(relation)
    if relation == "const":
        return check(instance.lhs, instance.rhs, "const", wrt=_wrt_logits(instance, wrt),
                     domain=domain, timeout=timeout, sampling=sampling, hint=hint, symbolic=proving)
    if certificate is None or relation == "eq":
        return check(instance.lhs, instance.rhs, relation, domain=domain, timeout=timeout, hint=hint,
                     symbolic=proving, sampling=sampling)
    # gap identity: (rhs - lhs) for ≤, (lhs - rhs) for ≥, must equal the certificate
    gap = instance.rhs - instance.lhs if relation in ("le", "lt") else instance.lhs - instance.rhs
    sizes = {prob._symbol_of(n): v for n, v in instance.sizes}
    free = {prob._symbol_of(n): v for n, v in instance.free}
    cert = prob.instantiate(_expand_certificates(certificate), sp.Integer(0), sizes, free).lhs
    identity = check(gap, cert, "eq", domain=instance.domain(), timeout=timeout, hint=hint, symbolic=proving,
                     sampling=sampling)
    if identity.status is Status.REFUTED:
        # the certificate is wrong, not necessarily the inequality: decide the inequality itself
        direct = check(instance.lhs, instance.rhs, relation, domain=domain, timeout=timeout,
                       symbolic=False, sampling=sampling)
        note = f"the certificate does not equal the gap ({identity.detail})"
        return Verdict(direct.status, direct.method, f"{note}; {direct.detail}",
                       counterexample=direct.counterexample, evidence=dict(direct.evidence))
    if identity.status is not Status.PROVED:
        direct = check(instance.lhs, instance.rhs, relation, domain=domain, timeout=timeout,
                       symbolic=False, sampling=sampling)
        return Verdict(direct.status if direct.status is not Status.PROVED else Status.NUMERIC,
                       direct.method, f"gap = certificate {identity.status.value}; {direct.detail}",
                       counterexample=direct.counterexample, evidence=dict(direct.evidence))
    for P, vars in lemma.normalised:
        if structurally_normalised(P, vars):
            continue
        # indices bound outside the KL/Jensen (e.g. x in E_p(x)[KL(q(z|x) || w(z))]) range over
        # their whole support: the distribution must be normalised for each of their values
        outer = [v for v in prob.free_indices(prob.S(P, *vars)) if v not in free]
        for values in prob.free_assignments(outer, sizes, limit=10**6):
            total = prob.instantiate(prob.S(P, *vars), sp.Integer(1), sizes, {**free, **values})
            if not _normalised(total.lhs):
                norm = check(total.lhs, total.rhs, "eq", domain=total.domain(), timeout=timeout, sampling=sampling)
                if norm.status is not Status.PROVED:
                    return Verdict(Status.UNKNOWN if norm.status is not Status.REFUTED else Status.ERROR,
                                   "certificate", f"{P} is not proved normalised over {vars}: {norm.detail}")
    if relation in ("lt", "gt"):
        return Verdict(Status.NUMERIC, "certificate", "the gap is nonnegative by "
                       f"{', '.join(lemma.names)}, but a strict inequality needs it positive")
    return Verdict(Status.PROVED, "certificate", f"gap ≡ certificate ({identity.method}); certificate ≥ 0 by "
                   f"{', '.join(lemma.names)}; normalisation proved")


def structurally_normalised(P: sp.Expr, vars) -> bool:
    """Σ_vars P = 1 by construction, for every size.

    Sum out one variable v at a time: split P into the factors that mention v and the rest R.
    If those factors are a table T(v|...) (softmax: sums to 1 over v) or a ratio f / Σ_v f
    (a posterior), then Σ_v P = R, and R must sum to 1 over the remaining variables.
    So p(x)·q(z|x) and p(x)·w(z)q(x|z)/Σ_z w(z)q(x|z) are normalised over (x, z).
    """
    vars = set(vars)
    if not vars:
        return P == 1
    factors = sp.Mul.make_args(P)
    for v in sorted(vars, key=lambda s: s.name):
        group = sp.Mul(*[f for f in factors if f.has(v)])
        rest = sp.Mul(*[f for f in factors if not f.has(v)])
        if _sums_to_one(group, v):
            return structurally_normalised(rest, vars - {v})
    return False


def _sums_to_one(group: sp.Expr, v: sp.Symbol) -> bool:
    table = prob.table_of(group)
    if table is not None:
        args = group.args[: 1 + len(table.given)]
        return args[0] == v and not any(a.has(v) for a in args[1:])
    numerator, denominator = group.as_numer_denom()
    return isinstance(denominator, sp.Sum) and denominator.function == numerator \
        and [lim[0] for lim in denominator.limits] == [v] \
        and denominator.limits[0][1] == 0 and denominator.limits[0][2] == prob.size_of(v) - 1


def _normalised(total: sp.Expr, seconds: float = 5.0) -> bool:
    """Σ P - 1 ≡ 0 by a cheap rewrite (softmax tables cancel), in a budgeted child process."""
    outcome = budgets.run(prove_zero_cheap, total - 1, seconds, Attempt(), seconds=seconds + 5)
    return outcome.ok and outcome.value is not None


def _refuted(result: SizeResult, relation: str, seconds: float) -> Verdict:
    v = result.verdict
    evidence = dict(v.evidence) | {"sizes": result.label}
    if v.counterexample and result.instance is not None:
        evidence["tables"] = prob.describe_tables(result.instance, dict(v.counterexample))
    if "certificate" not in evidence:
        evidence["certificate"] = _certificate(result, relation)
    return Verdict(Status.REFUTED, v.method, f"at {result.label}: {v.detail}",
                   counterexample=v.counterexample, seconds=seconds, evidence=evidence)


def _certificate(result: SizeResult, relation: str) -> dict:
    """An interval-arithmetic certificate on the instance's sides at the counterexample (a point
    in the logits of that instance), when the instance's verdict did not already carry one."""
    from .certify import certify

    v, instance = result.verdict, result.instance
    if not v.counterexample or instance is None:
        return {"certified": False, "reason": "no counterexample point to certify"}
    second = v.evidence.get("second_point") if relation == "const" else None
    try:
        return certify(instance.lhs, instance.rhs, relation, dict(v.counterexample),
                       second=None if second is None else dict(second))
    except Exception as exc:  # noqa: BLE001 - a failed certification never costs the refutation
        return {"certified": False, "reason": f"certification failed: {type(exc).__name__}: {exc}"}


def _aggregate(results: Sequence[SizeResult], lemma, seconds: float) -> Verdict:
    proved = sorted({r.label for r in results if r.verdict.status is Status.PROVED})
    sampled = sorted({r.label for r in results if r.verdict.status is Status.NUMERIC})
    bad = [r for r in results if r.verdict.status not in (Status.PROVED, Status.NUMERIC)]
    evidence = {"proved_sizes": proved, "sampled_sizes": sampled}
    if lemma is not None:
        evidence["lemmas"] = list(lemma.names)
    if bad:
        worst = bad[0]
        return Verdict(worst.verdict.status, worst.verdict.method, f"at {worst.label}: {worst.verdict.detail}",
                       seconds=seconds, evidence=evidence | dict(worst.verdict.evidence))
    proof_rows = [r for r in results if r.proof_size]
    methods = sorted({r.verdict.method for r in results if r.verdict.status is Status.PROVED})
    text = (f"proved at sizes {', '.join(proved) or 'none'}; numeric at sizes {', '.join(sampled) or 'none'}")
    if all(r.verdict.status is Status.PROVED for r in proof_rows):
        return Verdict(Status.PROVED, "sizes: " + ", ".join(methods), text, seconds=seconds, evidence=evidence)
    return Verdict(Status.NUMERIC, "numeric-sizes", text + "; " + next(
        r.verdict.detail for r in proof_rows if r.verdict.status is not Status.PROVED),
        seconds=seconds, evidence=evidence)
