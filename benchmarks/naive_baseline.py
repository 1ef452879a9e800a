"""The naive baseline: what a user would write to check the derivations without deriv.

This is the benchmark's point of comparison, not part of deriv. Per step of the bundled
derivations:

* eq / le / ge / lt / gt: `sympy.simplify(lhs - rhs) == 0` is "proved" (for lt / gt a zero
  difference is "refuted"); otherwise both sides are compared at `points` sample points with a
  `expr.subs({symbol: value}).evalf()` loop. Every evaluable point satisfies the relation within
  rtol 1e-8 (with the same absolute tolerance, so a side equal to 0 can match) -> "numeric"; one
  point violates it -> "refuted", a plain float refutation, never confirmed at higher precision;
  no evaluable point -> "unknown".
* const (`lhs = rhs + terms constant in wrt`): `simplify(diff(lhs - rhs, w)) == 0` for every w
  -> "proved", else the same sampling of the remaining derivatives against 0.
* limit: `sympy.limit` against the stated value: a zero simplified difference -> "proved", a
  different finite value -> "refuted", anything else -> "unknown".
* steps over probability tables: made concrete at deriv's first *sample* support size (softmax
  logits, `deriv.prob.instantiate`), then the rules above.
* experiment: "skipped".

Sample points come from the step's domain exactly as deriv draws them (`Domain.build` from the
step's domain mapping and the symbols' assumptions, `Domain.sample` with deriv's per-step seed).
Every step runs in a forked child killed after `per_step_seconds` (timeout -> "unknown").

    python benchmarks/naive_baseline.py [--seconds S] [--points N] [-k KEYWORD] [--json FILE]
"""
from __future__ import annotations

import argparse
import cmath
import json
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import dropwhile

import sympy as sp

from deriv import budget, prob, runner
from deriv.domain import Domain, stable_seed
from deriv.probcheck import _expand_certificates, _wrt_logits

RTOL = 1e-8
STATUSES = ("proved", "numeric", "refuted", "unknown", "error", "skipped")


# -- per-step checks (run inside the budgeted child) --------------------------------------------

def _value(expr: sp.Expr, point: dict) -> complex | None:
    """expr at point via subs/evalf, or None when it has no finite numeric value there."""
    try:
        value = complex(expr.subs(point).evalf())
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if cmath.isfinite(value) else None


def _text(value: complex) -> str:
    return f"{value.real:.10g}" if not value.imag else f"{value:.10g}"


def _holds(relation: str, a: complex, b: complex) -> bool | None:
    """a <relation> b within the tolerance; None when an inequality side is not real."""
    tol = RTOL * max(1.0, abs(a), abs(b))
    if relation == "eq":
        return abs(a - b) <= tol
    if a.imag or b.imag:
        return None
    if relation in ("le", "lt"):
        return a.real <= b.real + tol
    return a.real >= b.real - tol


def _sample(pairs, relation: str, domain: Domain, seed: int, points: int) -> tuple[str, str]:
    """Compare every (lhs, rhs) pair at `points` points drawn from `domain`."""
    samples = domain.sample(points, seed)
    evaluated = 0
    for i in range(points):
        point = {s: float(samples[s][i]) for s in domain.symbols}
        for lhs, rhs in pairs:
            a, b = _value(lhs, point), _value(rhs, point)
            holds = None if a is None or b is None else _holds(relation, a, b)
            if holds is None:
                continue
            evaluated += 1
            if not holds:
                return "refuted", f"float counterexample at point {i}: lhs = {_text(a)}, rhs = {_text(b)}"
    if not evaluated:
        return "unknown", f"no evaluable point among {points}"
    return "numeric", f"{evaluated} evaluations agree ({points} points)"


def _relation(lhs, rhs, relation: str, wrt, domain_map, points: int) -> tuple[str, str]:
    domain = Domain.build(lhs.free_symbols | rhs.free_symbols, domain_map)
    seed = stable_seed(sp.srepr(lhs), sp.srepr(rhs), relation)
    difference = lhs - rhs
    if relation == "const":
        if not wrt:
            raise ValueError("a const step needs the parameters it is constant in (wrt)")
        derivatives = (sp.diff(difference, w) for w in wrt)
        pending = list(dropwhile(lambda d: sp.simplify(d) == 0, derivatives))
        if not pending:
            return "proved", "simplify: every derivative is 0"
        return _sample([(d, sp.Integer(0)) for d in pending], "eq", domain, seed, points)
    if sp.simplify(difference) == 0:
        if relation in ("lt", "gt"):
            return "refuted", "simplify: lhs - rhs = 0, so the strict inequality fails"
        return "proved", "simplify: lhs - rhs = 0"
    return _sample([(lhs, rhs)], relation, domain, seed, points)


def _limit(step) -> tuple[str, str]:
    found = sp.limit(step.lhs, step.var, step.point, step.direction)
    difference = sp.simplify(found - step.rhs)
    if difference == 0:
        return "proved", f"sympy limit = {found}"
    if found.is_finite and difference.is_zero is False:
        return "refuted", f"sympy limit = {found}, not {step.rhs}"
    return "unknown", f"sympy limit = {found}"


def first_sample_instance(step) -> prob.Instance:
    """The step made concrete the way deriv.probcheck does it, at its first sample size."""
    lhs, rhs = (_expand_certificates(sp.sympify(e)) for e in (step.lhs, step.rhs))
    prove_sizes, sample_sizes = prob.size_plan(prob.index_vars(lhs, rhs))
    sizes = (sample_sizes or prove_sizes)[0]
    free = prob.free_assignments(prob.free_indices(lhs, rhs), sizes, limit=1)[0]
    return prob.instantiate(lhs, rhs, sizes, free)


def check_step(step, derivation, points: int) -> tuple[str, str]:
    """The naive status of one step, and a short note."""
    if step.kind == "limit":
        return _limit(step)
    if prob.is_probabilistic(step.lhs, step.rhs):
        instance = first_sample_instance(step)
        wrt = _wrt_logits(instance, step.wrt or None) if step.relation == "const" else ()
        status, note = _relation(instance.lhs, instance.rhs, step.relation, wrt, instance.domain(), points)
        return status, f"at {instance.label()}: {note}"
    domain_map = {**derivation.domain, **(step.domain or {})}
    return _relation(step.lhs, step.rhs, step.relation, step.wrt, domain_map, points)


# -- the run ---------------------------------------------------------------------------------

def _row(derivation, step, per_step_seconds: float, points: int) -> dict:
    if step.kind == "experiment":
        status, note, seconds = "skipped", "experiment step", 0.0
    else:
        outcome = budget.run(check_step, step, derivation, points, seconds=per_step_seconds)
        seconds = outcome.seconds
        if outcome.timed_out:
            status, note = "unknown", "timeout"
        elif outcome.error:
            status, note = "error", outcome.error
        else:
            status, note = outcome.value
    return {"derivation": derivation.id, "line": step.line, "relation": step.relation,
            "status": status, "seconds": round(seconds, 3), "note": note}


def run_naive(per_step_seconds: float = 60, points: int = 200, keyword: str | None = None,
              on_step=None, jobs: int = 1) -> dict:
    """Apply the naive method to every step of the bundled derivations (optionally filtered by
    `keyword`, matched like `deriv verify -k`); `on_step(row)` is called after each step, in
    order. `jobs` steps run at once (each in its own forked process), as `deriv verify -j`."""
    start = time.monotonic()
    found, failures = runner.collect([runner.bundled_path()])
    if failures:
        raise RuntimeError("; ".join(f.message for f in failures))
    if keyword:
        needle = keyword.lower()
        found = [(p, d) for p, d in found if needle in d.id.lower() or needle in d.title.lower()]
    tasks = [(derivation, step) for _, derivation in found for step in derivation.steps]
    rows = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # the work happens in forked children
        for row in pool.map(lambda task: _row(*task, per_step_seconds, points), tasks):
            rows.append(row)
            if on_step:
                on_step(row)
    counts = {status: sum(r["status"] == status for r in rows) for status in STATUSES}
    return {"steps": rows, "counts": counts, "seconds": round(time.monotonic() - start, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="time budget per step (default 60)")
    parser.add_argument("--points", type=int, default=200, help="sample points per step (default 200)")
    parser.add_argument("-k", dest="keyword", metavar="KEYWORD",
                        help="only derivations whose id or title contains KEYWORD")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="steps checked at once (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = parser.parse_args()

    def show(row):
        print(f"{row['derivation']:<32} line {row['line'] or '-':>4} {row['relation']:<10} "
              f"{row['status']:<8} {row['seconds']:7.1f}s  {row['note'][:100]}", flush=True)

    result = run_naive(args.seconds, args.points, args.keyword, on_step=show, jobs=args.jobs)
    counts = ", ".join(f"{n} {status}" for status, n in result["counts"].items() if n)
    print(f"{len(result['steps'])} steps in {result['seconds']:.1f} s: {counts or 'no steps'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
