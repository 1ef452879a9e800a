"""How fast deriv checks, against what a user would otherwise write, measured in one run.

    python benchmarks/bench.py              # throughput per backend on three steps, and the
                                            # numba crossover (about 3 minutes)
    python benchmarks/bench.py --document   # also the whole document: `deriv verify` cold and
                                            # warm, --jobs 1 and all cores, against the naive
                                            # baseline (benchmarks/naive_baseline.py); ~30 min

Ratios are what to read: absolute points/s depend on the machine and its load. Each figure is
the best of a few repetitions. "points/s" counts points at which *both* sides were evaluated.
Every ratio in a row is taken against numbers measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import mpmath
import numpy as np
import sympy as sp

from deriv import budget, fastpath, prob
from deriv.domain import Domain
from deriv.lowering import Lowered
from deriv.numeric import HighPrecision, screen

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bundled derivations
from derivations import kl_identities, max_entropy  # noqa: E402

m = max_entropy.m


def line(derivation, number: int) -> sp.Expr:
    """The right-hand side the document writes at `number` (deriv's encoding of it)."""
    return next(s.rhs for s in derivation.steps if s.line == number and s.kind != "limit")


@dataclass
class Case:
    name: str
    lhs: sp.Expr
    rhs: sp.Expr
    domain: Domain
    big: int  # points for the large-N columns (memory: numpy keeps whole temporaries)

    @property
    def args(self):
        return self.domain.symbols


def kl_case() -> Case:
    """kl_identities lines 370-384 as one identity, at x:5, z:8: e(z|x) and g(x|z) have 40
    entries each (93 logits in all)."""
    kl = kl_identities
    instance = prob.instantiate(kl.L_marginal, kl.expected_kl + kl.L_joint, {kl.x: 5, kl.z: 8}, {})
    domain = Domain.build(instance.lhs.free_symbols | instance.rhs.free_symbols, instance.domain())
    return Case("KL identity, lines 370–384 (x:5, z:8; 93 logits)", instance.lhs, instance.rhs, domain, 100_000)


def cases() -> list[Case]:
    gradient = Domain.build({m}, {m: (0.01, 5)})
    g = max_entropy.gradient
    return [Case("gradient, line 66 vs line 77", line(g, 66), line(g, 77), gradient, 1_000_000),
            Case("integral, line 60 vs line 61 (∂/∂m ∫₀¹ … dx)", line(g, 60), line(g, 61), gradient, 100_000),
            kl_case()]


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def columns(case: Case, count: int, seed: int = 0) -> list[np.ndarray]:
    sample = case.domain.sample(count, seed)
    return [np.ascontiguousarray(sample[s]) for s in case.args]


def naive_rate(case: Case, count: int = 50, seconds: float = 20.0) -> float:
    """`expr.subs(point).evalf()` per point, both sides: what a user writes without deriv.

    Derivatives and integrals are first done symbolically once (`doit()`, not timed: this
    favours the naive loop). At most `seconds` of points (at least one) are timed."""
    cols = columns(case, count)
    lhs, rhs = (sp.sympify(e).doit() for e in (case.lhs, case.rhs))
    start, done = time.perf_counter(), 0
    while done < count and (done == 0 or time.perf_counter() - start < seconds):
        point = {s: cols[j][done] for j, s in enumerate(case.args)}
        float(lhs.subs(point).evalf()), float(rhs.subs(point).evalf())
        done += 1
    return done / (time.perf_counter() - start)


def equals_seconds(case: Case, seconds: float) -> str:
    """One call of sympy's `lhs.equals(rhs)` (its own randomised numeric test + simplify)."""
    outcome = budget.run(lambda: case.lhs.doit().equals(case.rhs.doit()), seconds=seconds)
    if outcome.timed_out:
        return f"> {seconds:g} s (killed)"
    if outcome.error:
        return f"error after {outcome.seconds:.1f} s"
    return f"{outcome.seconds:.2f} s → {outcome.value}"


def numpy_fns(case: Case):
    start = time.perf_counter()
    fns = [Lowered.of(e, case.args).numpy_fn() for e in (case.lhs, case.rhs)]
    return fns, time.perf_counter() - start


def kernels(case: Case):
    sources = [fastpath.kernel_source(Lowered.of(e, case.args).expr, case.args) for e in (case.lhs, case.rhs)]
    return [fastpath.Kernel(s, 0) for s in sources]


def rate(fns, cols) -> float:
    count = cols[0].size
    return count / best(lambda: [f(*cols) for f in fns])


def mpmath_rate(case: Case, count: int = 20) -> float:
    hp = HighPrecision(Lowered.of(case.lhs, case.args), Lowered.of(case.rhs, case.args), "eq")
    cols = columns(case, count)
    points = [tuple(float(c[i]) for c in cols) for i in range(count)]
    return count / best(lambda: [hp.values(p, 50) for p in points], repeat=1)


def screen_rate(case: Case, count: int) -> float:
    """deriv's whole numeric screen (float64 + high-precision re-checks) at `count` points."""
    return count / best(lambda: screen(case.lhs, case.rhs, "eq", case.domain, 7, points=count,
                                       backend="numpy"), repeat=1)


def throughput(case: Case, small: int) -> dict:
    print(f"measuring: {case.name}", file=sys.stderr, flush=True)
    row = {"step": case.name}
    row["naive pts/s"] = naive_rate(case)
    row["sympy equals"] = equals_seconds(case, 60)
    fns, row["numpy compile s"] = numpy_fns(case)
    row["numpy pts/s @1e4"] = rate(fns, columns(case, small))
    row["screen pts/s @1e4"] = screen_rate(case, small)
    big = columns(case, case.big)
    row["big N"] = case.big
    row["numpy pts/s @N"] = rate(fns, big)
    row["mpmath 50dps pts/s"] = mpmath_rate(case)
    if fastpath.numba_available():
        import numba

        start = time.perf_counter()
        ks = kernels(case)
        [k(*columns(case, 10)) for k in ks]
        row["numba compile s"] = time.perf_counter() - start
        numba.set_num_threads(1)
        row["numba 1 thread pts/s @N"] = rate(ks, big)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        row["numba all cores pts/s @N"] = rate(ks, big)
    return row


CACHED_PROBE = textwrap.dedent("""
    import sys, time, numpy as np
    from deriv import fastpath
    fastpath.preload()  # what deriv does once per run, before forking the step checks
    sys.path.insert(0, {bench!r})
    import bench
    case = bench.cases()[0]
    start = time.perf_counter()
    ks = bench.kernels(case)
    [k(*bench.columns(case, 10)) for k in ks]
    print(time.perf_counter() - start)
""")


def crossover(case: Case) -> dict:
    """Where numba starts to pay, per step with both sides, in a fresh process that has paid
    numba's start-up (deriv does that once per run, before forking the step checks): the fixed
    cost (compile, or load from the on-disk cache) against the per-point saving over numpy."""
    fns, numpy_fixed = numpy_fns(case)
    cols = columns(case, case.big)
    per_numpy = 1 / rate(fns, cols)
    probe = CACHED_PROBE.format(bench=str(Path(__file__).resolve().parent))
    env = {**os.environ, "DERIV_CACHE_DIR": tempfile.mkdtemp(prefix="deriv-bench-kernels-")}
    try:
        cold = float(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                    text=True, check=True).stdout)
        cached = float(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                      text=True, check=True).stdout)
    finally:
        shutil.rmtree(env["DERIV_CACHE_DIR"], ignore_errors=True)
    ks = kernels(case)
    per_numba = 1 / rate(ks, cols)
    saving = per_numpy - per_numba
    result = {"numpy fixed s": numpy_fixed, "numba compile s": cold, "numba cached load s": cached,
              "saving per point s": saving}
    for label, fixed in (("cold", cold), ("cached", cached)):
        result[f"crossover {label}"] = (fixed - numpy_fixed) / saving if saving > 0 else float("inf")
    return result


# -- whole document -----------------------------------------------------------------------------

def deriv_verify(jobs: int, cache: str, keyword: str | None) -> dict:
    out = Path(cache) / f"run-{jobs}-{time.time_ns()}.json"
    env = {**os.environ, "DERIV_CACHE_DIR": cache}
    command = [sys.executable, "-m", "deriv", "verify", "-q", "-j", str(jobs), "--json", str(out)]
    start = time.perf_counter()
    subprocess.run(command + (["-k", keyword] if keyword else []), env=env, check=False,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    data = json.loads(out.read_text())
    steps = [s for d in data["derivations"] for s in d["steps"]]
    return {"seconds": seconds, "statuses": [s["status"] for s in steps],
            "expected": [s["expected"] for s in steps]}


def document(jobs: int, naive_seconds: float, keyword: str | None) -> list[tuple[str, dict]]:
    rows = []
    caches = [tempfile.mkdtemp(prefix="deriv-bench-") for _ in range(2)]
    try:
        rows.append(("deriv verify -j 1, cold (empty cache)", deriv_verify(1, caches[0], keyword)))
        rows.append((f"deriv verify -j {jobs}, cold (empty cache)", deriv_verify(jobs, caches[1], keyword)))
        rows.append((f"deriv verify -j {jobs}, warm (cached)", deriv_verify(jobs, caches[1], keyword)))
    finally:
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import naive_baseline

    start = time.perf_counter()
    naive = naive_baseline.run_naive(per_step_seconds=naive_seconds, keyword=keyword, jobs=jobs)
    rows.append((f"naive -j {jobs}: simplify == 0, else 200-point subs/evalf ({naive_seconds:g} s cap per step)",
                 {"seconds": time.perf_counter() - start, "statuses": [s["status"] for s in naive["steps"]]}))
    return rows


def document_table(jobs: int, naive_seconds: float, keyword: str | None) -> None:
    print(f"\nwhole document: every bundled step{f' (-k {keyword})' if keyword else ''}", file=sys.stderr)
    doc = document(jobs, naive_seconds, keyword)
    kinds = ("proved", "numeric", "refuted", "unknown", "error")
    print("\n| whole document | wall s | " + " | ".join(kinds) + " | other |")
    print("|---|---|" + "---|" * (len(kinds) + 1))
    for label, res in doc:
        counts = {k: res["statuses"].count(k) for k in set(res["statuses"])}
        cells = [str(counts.pop(k, 0)) for k in kinds]
        other = ", ".join(f"{k} {v}" for k, v in counts.items()) or "0"
        print(f"| {label} | {res['seconds']:.1f} | " + " | ".join(cells) + f" | {other} |")
    serial, parallel, warm, naive = (res for _, res in doc)
    print(f"\n-j {jobs} vs -j 1 (cold): {serial['seconds'] / parallel['seconds']:.2f}× faster · "
          f"cold -j {jobs} vs naive -j {jobs}: {naive['seconds'] / parallel['seconds']:.1f}× faster · "
          f"warm: {warm['seconds']:.2f} s including interpreter start · warm verdicts = cold verdicts: "
          f"{warm['statuses'] == parallel['statuses']}")
    pairs = list(zip(parallel["statuses"], parallel["expected"], naive["statuses"]))
    mistakes = sum(1 for _, expected, _ in pairs if expected == "refuted")
    found = sum(1 for d, expected, n in pairs if expected == "refuted" and n == "refuted")
    false = sum(1 for d, expected, n in pairs if n == "refuted" and expected != "refuted")
    decided = {name: sum(1 for s in res["statuses"] if s in ("proved", "refuted"))
               for name, res in (("deriv", parallel), ("naive", naive))}
    print(f"decided (proved or refuted): deriv {decided['deriv']}, naive {decided['naive']} · "
          f"the document's {mistakes} known mistakes: deriv refutes {parallel['statuses'].count('refuted')} "
          f"(each confirmed at 50/80 digits), naive refutes {found} · naive refutations of correct "
          f"steps (false alarms): {false}")


def fmt(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if value >= 100:
        return f"{value:.2e}" if value >= 1e5 else f"{value:,.0f}"
    return f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--document", action="store_true", help="also time the whole document (slow)")
    parser.add_argument("--no-throughput", action="store_true",
                        help="skip the per-step throughput table and the crossover (with --document)")
    parser.add_argument("-k", dest="keyword", help="with --document: only derivations matching (a smoke test)")
    parser.add_argument("--points", type=int, default=10_000, help="the small point count (default 1e4)")
    parser.add_argument("--naive-seconds", type=float, default=60.0,
                        help="per-step cap for the naive baseline's simplify (default 60 s)")
    args = parser.parse_args()
    os.environ.setdefault("DERIV_CACHE_DIR", tempfile.mkdtemp(prefix="deriv-bench-"))
    numba_note = "absent"
    if fastpath.numba_available():
        fastpath.preload()
        import numba

        numba_note = f"{numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads"
    print(f"{time.strftime('%Y-%m-%d')} · {platform.machine()} · {os.cpu_count()} cores · "
          f"load {os.getloadavg()[0]:.2f} · Python {platform.python_version()} · sympy {sp.__version__} · "
          f"numpy {np.__version__} · mpmath {mpmath.__version__} · numba {numba_note}\n")
    if not args.no_throughput:
        throughput_table(args.points)
    if args.document:
        document_table(os.cpu_count() or 1, args.naive_seconds, args.keyword)


def throughput_table(points: int) -> None:
    rows = [throughput(case, points) for case in cases()]
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(fmt(row.get(k, "–")) for k in keys) + " |")
    print("\nratios, same run:")
    for row in rows:
        parts = [f"numpy/naive {row['numpy pts/s @1e4'] / row['naive pts/s']:,.0f}×",
                 f"screen/naive {row['screen pts/s @1e4'] / row['naive pts/s']:,.0f}×"]
        if "numba all cores pts/s @N" in row:
            parts.append(f"numba(all cores)/numpy at {row['big N']:,} pts "
                         f"{row['numba all cores pts/s @N'] / row['numpy pts/s @N']:.1f}×")
            parts.append(f"numba 1 thread/numpy {row['numba 1 thread pts/s @N'] / row['numpy pts/s @N']:.1f}×")
        print(f"  {row['step']}: " + ", ".join(parts))
    if fastpath.numba_available():
        cross = crossover(cases()[0])
        print(f"\nnumba crossover (gradient pair, both sides): compile {cross['numba compile s']:.2f} s, "
              f"load from the on-disk cache {cross['numba cached load s']:.2f} s, numpy compile "
              f"{cross['numpy fixed s']:.3f} s, saving {cross['saving per point s'] * 1e9:.1f} ns/point → "
              f"numba pays from {cross['crossover cold']:,.0f} points (cold) / "
              f"{cross['crossover cached']:,.0f} points (cached kernel); deriv uses "
              f"{fastpath.CROSSOVER_COLD:,} / {fastpath.CROSSOVER_CACHED:,}")


if __name__ == "__main__":
    main()
