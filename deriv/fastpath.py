"""The compiled fast path: numba kernels for large point sets, cached on disk across runs.

numpy is the default float64 backend. Compiling a numba kernel costs about a second, which is
many times what numpy needs for the 2000 points of a default screen, so numba is chosen only
when the number of points pays for the compilation -- or when the kernel is already compiled
and cached on disk (then only the load, milliseconds, has to be paid). The crossovers
below were measured on the project's 2-core machine with `python benchmarks/bench.py` (its
"numba crossover" line): points per step, in a run that has paid numba's start-up once.

A kernel is generated as Python source (common subexpressions eliminated once, integrals as
the same 96-node Gauss-Legendre rule the numpy path uses) and written to
`<cache dir>/kernels/k_<hash>.py`, so that numba's own `cache=True` can store the machine code
beside it in `__pycache__`. Anything numba cannot compile -- complex numbers, a function the
`math` module lacks, a typing error -- falls back to numpy with a note; so does a missing numba.
float64 results only ever nominate points: every decision is still taken at >= 50 digits.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from .lowering import QUADRATURE_NODES, LoweringError, _gauss_legendre, _outermost_integrals

# Measured 2026-11-25 with benchmarks/bench.py on the 2-core machine (README "Speed"): for the
# gradient pair, compiling both kernels costs 1.40 s, loading them from the on-disk cache 0.03 s,
# lambdify 0.011 s, and numba saves 127 ns per point over numpy: numba pays from 10.9 million
# points (compiling) or 137,000 points (cached). Rounded:
CROSSOVER_COLD = 11_000_000  # points per step when the kernels must be compiled first
CROSSOVER_CACHED = 140_000  # points per step when numba's on-disk cache already holds them
KERNEL_FORMAT = 1  # bump when the generated source changes shape

BACKENDS = ("auto", "numpy", "numba")


class KernelUnavailable(RuntimeError):
    """numba is missing or cannot compile this expression; numpy is used instead."""


def numba_available() -> bool:
    """numba is installed, not disabled ($DERIV_NO_NUMBA), and did not fail to start."""
    return not _broken and _numba_installed()


@functools.lru_cache(maxsize=1)
def _numba_installed() -> bool:
    return not os.environ.get("DERIV_NO_NUMBA") and importlib.util.find_spec("numba") is not None


def kernel_dir() -> Path:
    from .cache import cache_dir

    return cache_dir() / "kernels"


class _ScalarPrinter(PythonCodePrinter):
    """Scalar Python for numba: `math` functions, floats for constants that overflow int64."""

    def __init__(self):
        super().__init__({"strict": True, "fully_qualified_modules": True})

    def _print_Integer(self, expr):
        return str(expr.p) if abs(expr.p) < 2**53 else repr(float(expr.p))

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_ImaginaryUnit(self, expr):
        raise KernelUnavailable("complex numbers")

    def _print_KroneckerDelta(self, expr):
        a, b = (self._print(arg) for arg in expr.args)
        return f"(1.0 if {a} == {b} else 0.0)"


class _Writer:
    """Generates the kernel module: one numba function per expression and per integrand."""

    def __init__(self):
        self.functions: list[str] = []
        self.printer = _ScalarPrinter()
        self.variables = 0  # integration variables, numbered across nesting levels

    def function(self, expr: sp.Expr, params: list[str]) -> str:
        """Source of a jitted scalar function of `params`; returns its name."""
        integrals = _outermost_integrals(expr)
        holders = {I: sp.Symbol(f"_i{len(self.functions)}_{k}") for k, I in enumerate(integrals)}
        lines = []
        for I, holder in holders.items():
            lines.append(f"    {holder} = {self.integral(I, params)}({', '.join(params)})")
        replacements, (reduced,) = sp.cse([expr.xreplace(holders)],
                                          symbols=sp.numbered_symbols(f"_c{len(self.functions)}_"))
        lines += [f"    {s} = {self._print(v)}" for s, v in replacements]
        lines.append(f"    return {self._print(reduced)}")
        name = f"_f{len(self.functions)}"
        self.functions.append(f"@numba.njit(cache=True, error_model='numpy')\n"
                              f"def {name}({', '.join(params)}):\n" + "\n".join(lines))
        return name

    def integral(self, integral: sp.Integral, params: list[str]) -> str:
        *inner_limits, last = integral.limits
        if len(last) != 3:
            raise LoweringError(f"indefinite integral {integral} has no numeric value")
        var, low, high = last
        if any(limit.has(sp.oo, -sp.oo, sp.zoo) for limit in (low, high)):
            raise KernelUnavailable("improper integral")
        t = sp.Symbol(f"_t{self.variables}", real=True)
        self.variables += 1
        inner = sp.Integral(integral.function, *inner_limits) if inner_limits else integral.function
        body = self.function(inner.xreplace({var: t}), params + [str(t)])
        a, b = self.function(low, params), self.function(high, params)
        name = f"_q{len(self.functions)}"
        call = ", ".join(params)
        self.functions.append(
            f"@numba.njit(cache=True, error_model='numpy')\n"
            f"def {name}({call}):\n"
            f"    a = {a}({call})\n"
            f"    b = {b}({call})\n"
            f"    half = (b - a) / 2.0\n"
            f"    mid = (b + a) / 2.0\n"
            f"    total = 0.0\n"
            f"    for k in range({QUADRATURE_NODES}):\n"
            f"        total += WEIGHTS[k] * {body}({call}{', ' if call else ''}mid + half * NODES[k])\n"
            f"    return total * half")
        return name

    def _print(self, expr) -> str:
        text = self.printer.doprint(expr)
        if "None" in text:  # a Piecewise without a default case has no float value
            raise KernelUnavailable("piecewise expression undefined on part of the domain")
        return text


@functools.lru_cache(maxsize=64)
def kernel_source(expr: sp.Expr, args: tuple[sp.Symbol, ...]) -> str:
    """The module text of a kernel computing prepared `expr` at every point of 1-d arrays."""
    if expr.has(sp.I):
        raise KernelUnavailable("complex values")
    params = [f"_v{k}" for k in range(len(args))]
    expr = expr.xreplace(dict(zip(args, (sp.Symbol(p, real=True) for p in params))))
    writer = _Writer()
    top = writer.function(expr, params)
    arrays = ", ".join(f"A{k}" for k in range(len(args)))
    at = ", ".join(f"A{k}[i]" for k in range(len(args)))
    nodes, weights = _gauss_legendre(QUADRATURE_NODES)
    header = (f"# deriv kernel, format {KERNEL_FORMAT}: generated, safe to delete\n"
              "import math\nimport numba\nimport numpy as np\n\n"
              f"NODES = np.array({[float(v) for v in nodes]!r})\n"
              f"WEIGHTS = np.array({[float(v) for v in weights]!r})\n")
    vector = (f"@numba.njit(parallel=True, cache=True, error_model='numpy')\n"
              f"def vector({arrays}{', ' if arrays else ''}out):\n"
              f"    for i in numba.prange(out.shape[0]):\n"
              f"        out[i] = {top}({at})\n")
    body = "\n\n\n".join(writer.functions)
    return f"{header}\n\n{body}\n\n\n{vector}"


def _module_name(source: str) -> str:
    return "k_" + hashlib.sha256(source.encode()).hexdigest()[:24]


def _write(source: str) -> Path:
    directory = kernel_dir()
    path = directory / f"{_module_name(source)}.py"
    if not path.exists() or path.read_text() != source:  # missing, or damaged: (re)write it
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
        os.replace(tmp, path)  # atomic; numba keys its cache on the file's mtime, so a repaired
        # file never reuses machine code compiled from the damaged one
    return path


def is_cached(source: str) -> bool:
    """Whether numba's on-disk cache already holds machine code for this kernel."""
    folder = kernel_dir() / "__pycache__"
    return folder.is_dir() and any(folder.glob(f"{_module_name(source)}.vector-*.nbi"))


@functools.lru_cache(maxsize=1)
def _configure():
    """Import numba and pick a fork-safe threading layer: steps run in forked children, and GNU
    OpenMP aborts a child forked from a process that used it. A layer the user chose
    (NUMBA_THREADING_LAYER) is kept."""
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "forksafe"
    return numba


@functools.lru_cache(maxsize=1)
def preload() -> bool:
    """Pay numba's one-time start-up (import, LLVM, the thread pool: about 1.3 s) once, in the
    process that forks the step checks, so that a cached kernel then loads in milliseconds.
    False (and numba is not used) if numba is missing or broken."""
    if not numba_available():
        return False
    try:
        w = sp.Symbol("w", real=True)
        Kernel(kernel_source(w, (w,)), 1)(np.zeros(1))
    except Exception:  # noqa: BLE001 - a broken numba install must not stop a run
        global _broken
        _broken = True
        return False
    return True


_broken = False


@functools.lru_cache(maxsize=256)
def _load(source: str):
    _configure()
    path = _write(source)
    name = f"deriv_kernels.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache locator needs the module to be importable by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module.vector


class Kernel:
    """A compiled kernel with the numpy function's calling convention: arrays in, array out."""

    def __init__(self, source: str, count: int):
        self.source = source
        self.count = count

    def __call__(self, *arrays) -> np.ndarray:
        vector = _load(self.source)
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays)) if arrays else (self.count,)
        columns = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=float), shape)).ravel()
                   for a in arrays]
        out = np.empty(int(np.prod(shape)))
        vector(*columns, out)
        return out.reshape(shape)


def choose(expr: sp.Expr, args: Sequence[sp.Symbol], count: int, backend: str = "auto") -> tuple[str, str]:
    """Which backend evaluates `count` points of `expr`, and why (for the report)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "numpy":
        return "numpy", "requested"
    if not numba_available():
        return "numpy", "numba is not installed" if backend == "numba" else "default"
    if backend == "auto" and count < CROSSOVER_CACHED:
        return "numpy", f"{count} points: below the numba crossover"
    try:
        source = kernel_source(expr, tuple(args))
    except (KernelUnavailable, LoweringError, sp.printing.codeprinter.PrintMethodNotImplementedError) as exc:
        return "numpy", f"numba cannot compile it ({_first_line(exc)})"
    if backend == "auto" and count < CROSSOVER_COLD and not is_cached(source):
        return "numpy", f"{count} points: below the numba crossover for an uncompiled kernel"
    return "numba", "cached kernel" if is_cached(source) else "compiled"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class Evaluator:
    """Evaluates an expression at `count` points: a numba kernel, or the numpy function.

    `backend` names what evaluated the last call and why; a kernel that fails to compile or run
    hands over to numpy for good, and `backend` says so.
    """

    def __init__(self, expr: sp.Expr, args: Sequence[sp.Symbol], count: int, numpy_fn: Callable,
                 backend: str = "auto"):
        self.numpy_fn = numpy_fn
        chosen, why = choose(expr, args, count, backend)
        self.kernel = Kernel(kernel_source(expr, tuple(args)), count) if chosen == "numba" else None
        self.backend = f"{chosen} ({why})" if why not in ("default", "requested") else chosen

    def __call__(self, *arrays) -> np.ndarray:
        if self.kernel is not None:
            try:
                return self.kernel(*arrays)
            except Exception as exc:  # noqa: BLE001 - any numba failure means: use numpy
                self.kernel = None
                self.backend = f"numpy (numba failed: {type(exc).__name__}: {_first_line(exc)})"
        return self.numpy_fn(*arrays)
