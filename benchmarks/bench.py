"""Speed of deriv's numeric screen against what a user would otherwise write, measured in one run.

    python benchmarks/bench.py            # point-evaluation throughput per backend
    python benchmarks/bench.py --document # also: whole-document `deriv verify`, cold and warm,
                                          #       against a naive simplify / subs-evalf baseline

Ratios are what to read: absolute points/s depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import mpmath
import numpy as np
import sympy as sp

from deriv.lowering import Lowered

m = sp.Symbol("m", positive=True)
x = sp.Symbol("x", real=True)
E = sp.exp(m)
LINE_66 = E / (E - 1) - 1 / m - m * E / (E - 1) + ((m - 1) * E + 1) * E / (E - 1) ** 2
LINE_77 = -1 / m + m * E / (E - 1) ** 2
F54 = m * sp.exp(m * x) / (E - 1)
LINE_61 = sp.Derivative(sp.Integral(F54 * (sp.log(E - 1) - sp.log(m * sp.exp(m * x))), (x, 0, 1)), m)


def timed(fn, *, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def naive_subs(expr, points) -> float:
    """Points per second of `expr.subs(m, v).evalf()` in a Python loop."""
    sample = points[:200]
    seconds = timed(lambda: [float(expr.subs(m, v).evalf()) for v in sample], repeat=1)
    return len(sample) / seconds


def numpy_screen(expr, points) -> tuple[float, float]:
    start = time.perf_counter()
    fn = Lowered.of(expr, (m,)).numpy_fn()
    compile_s = time.perf_counter() - start
    seconds = timed(lambda: fn(points))
    return len(points) / seconds, compile_s


def mpmath_50(expr, points) -> float:
    fn = Lowered.of(expr, (m,)).mpmath_fn()
    sample = points[:50]

    def run():
        with mpmath.workdps(50):
            for v in sample:
                fn(mpmath.mpf(float(v)))

    return len(sample) / timed(run, repeat=1)


def numba_screen(expr, points) -> tuple[float | None, float | None]:
    try:
        import numba
    except ImportError:
        return None, None
    start = time.perf_counter()
    fn = numba.njit(sp.lambdify(m, expr, "math"))

    @numba.njit(parallel=True)
    def vector(values):
        out = np.empty_like(values)
        for i in numba.prange(values.size):
            out[i] = fn(values[i])
        return out

    vector(points[:10])
    compile_s = time.perf_counter() - start
    return len(points) / timed(lambda: vector(points)), compile_s


def row(name, expr, count):
    points = np.random.default_rng(0).uniform(0.01, 5, count)
    naive = naive_subs(expr, points)
    fast, compile_s = numpy_screen(expr, points)
    hp = mpmath_50(expr, points)
    nb, nb_compile = numba_screen(expr, points) if not expr.has(sp.Integral, sp.Derivative) else (None, None)
    cells = [name, f"{naive:,.0f}", f"{fast:,.0f}", f"{fast / naive:,.0f}×", f"{compile_s:.3f}",
             f"{hp:,.0f}", "–" if nb is None else f"{nb:,.0f}", "–" if nb is None else f"{nb / fast:.1f}×",
             "–" if nb_compile is None else f"{nb_compile:.2f}"]
    print(" | ".join(cells))


def document(jobs: int) -> None:
    cache = tempfile.mkdtemp(prefix="deriv-bench-")
    env = {**os.environ, "DERIV_CACHE_DIR": cache}
    try:
        for label in ("cold", "warm"):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "deriv", "verify", "-q", "-j", str(jobs)], env=env,
                           check=False, stdout=subprocess.DEVNULL)
            print(f"deriv verify -j {jobs} ({label} cache): {time.perf_counter() - start:.1f} s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--document", action="store_true")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()} · "
          f"{os.cpu_count()} cores · Python {platform.python_version()} · sympy {sp.__version__}")
    print("step | naive subs/evalf pts/s | deriv numpy pts/s | ratio | compile s | mpmath 50 dps pts/s "
          "| numba prange pts/s | numba/numpy | numba compile s")
    row("line 66 vs 77 (gradient)", LINE_66 - LINE_77, args.points)
    row("line 61 (∂/∂m ∫ … dx)", LINE_61, min(args.points, 20_000))
    if args.document:
        document(jobs=1)
        document(jobs=os.cpu_count() or 1)


if __name__ == "__main__":
    main()
