"""The numba fast path: same values as numpy, chosen only where it pays, never fatal."""
import numpy as np
import pytest
import sympy as sp

from deriv import check, fastpath
from deriv.cli import main
from deriv.lowering import Lowered
from deriv.numeric import Sampling, screen
from deriv.domain import Domain
from deriv.verdict import Status

numba = pytest.importorskip("numba")

m = sp.Symbol("m", positive=True)
x = sp.Symbol("x", real=True)
E = sp.exp(m)
LINE_66 = E / (E - 1) - 1 / m - m * E / (E - 1) + ((m - 1) * E + 1) * E / (E - 1) ** 2
LINE_77 = -1 / m + m * E / (E - 1) ** 2


@pytest.fixture(autouse=True)
def kernel_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path))
    fastpath._load.cache_clear()


def both(expr, args, points):
    low = Lowered.of(expr, args)
    kernel = fastpath.Kernel(fastpath.kernel_source(low.expr, low.args), len(points[0]))
    with np.errstate(all="ignore"):
        return np.asarray(low.numpy_fn()(*points), dtype=float), kernel(*points)


@pytest.mark.parametrize("expr", [
    LINE_66 - LINE_77,
    sp.Max(m, 2) * sp.Rational(1, 3) + sp.Min(m, x) + sp.KroneckerDelta(sp.floor(m), 1),
    sp.Piecewise((m * x, x > 0), (m - x, True)) + sp.Abs(x) + sp.sqrt(m) + m ** sp.Rational(1, 3),
    sp.log(x) + 1 / x,  # nan and inf where numpy has them
    sp.Derivative(sp.Integral(m * sp.exp(m * x) / (E - 1) * sp.log(m * sp.exp(m * x) / (E - 1)), (x, 0, 1)), m),
    sp.Integral(sp.Integral(sp.exp(-(x * m) ** 2), (x, 0, m)), (m, 0, 1)) + x,  # nested, limits use m
    10**30 * m / 10**30,
])
def test_kernel_values_match_numpy(expr):
    rng = np.random.default_rng(0)
    points = [rng.uniform(0.01, 5, 500), rng.uniform(-2, 2, 500)]
    args = (m, x)
    reference, fast = both(expr, args, points)
    same_nan = np.isnan(reference) == np.isnan(fast)
    assert same_nan.all()
    finite = np.isfinite(reference)
    assert np.array_equal(np.isinf(reference), np.isinf(fast))
    np.testing.assert_allclose(fast[finite], reference[finite], rtol=1e-12, atol=1e-12)


def test_kernel_source_is_written_once_and_compiled_code_is_cached_on_disk(tmp_path):
    low = Lowered.of(LINE_66, (m,))
    source = fastpath.kernel_source(low.expr, low.args)
    assert not fastpath.is_cached(source)
    fastpath.Kernel(source, 4)(np.linspace(1, 2, 4))
    assert fastpath.is_cached(source)
    assert len(list((tmp_path / "kernels").glob("k_*.py"))) == 1
    assert fastpath.choose(low.expr, low.args, fastpath.CROSSOVER_CACHED)[0] == "numba"
    assert fastpath.choose(low.expr, low.args, fastpath.CROSSOVER_CACHED - 1)[0] == "numpy"


def test_auto_keeps_numpy_below_the_crossover_and_for_what_numba_cannot_compile():
    low = Lowered.of(LINE_66, (m,))
    backend, why = fastpath.choose(low.expr, low.args, 2000)
    assert backend == "numpy" and "crossover" in why
    backend, why = fastpath.choose(low.expr, low.args, fastpath.CROSSOVER_COLD)
    assert backend == "numba" and why == "compiled"
    backend, why = fastpath.choose(sp.polygamma(1, m), (m,), 10**9, "numba")
    assert backend == "numpy" and "polygamma" in why
    backend, why = fastpath.choose(sp.I * m, (m,), 10**9, "numba")
    assert backend == "numpy" and "complex" in why
    with pytest.raises(ValueError, match="backend"):
        fastpath.choose(m, (m,), 10, "cuda")


def test_without_numba_everything_runs_on_numpy(monkeypatch):
    monkeypatch.setenv("DERIV_NO_NUMBA", "1")
    fastpath._numba_installed.cache_clear()
    try:
        assert fastpath.choose(m, (m,), 10**9, "numba") == ("numpy", "numba is not installed")
        verdict = check(LINE_66, LINE_77, domain={m: (0.01, 5)}, sampling=Sampling(5000, "numba"))
        assert verdict.status is Status.PROVED
        assert verdict.evidence["float_backend"].startswith("numpy")
    finally:
        fastpath._numba_installed.cache_clear()


def test_a_kernel_that_fails_hands_over_to_numpy(monkeypatch):
    def broken(self, *arrays):
        raise RuntimeError("LLVM ERROR: out of memory")

    monkeypatch.setattr(fastpath.Kernel, "__call__", broken)
    domain = Domain.build({m}, {m: (0.01, 5)})
    result = screen(LINE_66, LINE_77, "eq", domain, seed=1, points=300, backend="numba")
    assert result.outcome == "agree" and result.float_points == 300
    assert result.backend.startswith("numpy (numba failed: RuntimeError")


def test_a_damaged_kernel_file_is_rewritten(tmp_path):
    low = Lowered.of(LINE_66, (m,))
    source = fastpath.kernel_source(low.expr, low.args)
    path = fastpath._write(source)
    path.write_text("def vector(:\n")  # a damaged cache entry
    domain = Domain.build({m}, {m: (0.01, 5)})
    result = screen(LINE_66, LINE_77, "eq", domain, seed=1, points=300, backend="numba")
    assert result.outcome == "agree" and result.backend.startswith("numba")
    assert path.read_text() == source


def test_a_kernel_that_cannot_be_loaded_hands_over_to_numpy(monkeypatch):
    def unloadable(source):
        raise SyntaxError("invalid syntax (k_0.py, line 1)")

    monkeypatch.setattr(fastpath, "_load", unloadable)
    domain = Domain.build({m}, {m: (0.01, 5)})
    result = screen(LINE_66, LINE_77, "eq", domain, seed=1, points=300, backend="numba")
    assert result.outcome == "agree" and "SyntaxError" in result.backend


def test_numba_screen_refutes_like_numpy_with_a_confirmed_counterexample():
    wrong = LINE_77 + 1e-9 * m  # off by a hair: float64 nominates, 50/80 digits confirm
    verdicts = [check(LINE_66, wrong, domain={m: (0.01, 5)}, sampling=Sampling(3000, backend))
                for backend in ("numpy", "numba")]
    assert [v.status for v in verdicts] == [Status.REFUTED, Status.REFUTED]
    assert verdicts[1].evidence["float_backend"].startswith("numba")
    for verdict in verdicts:  # the worst float64 point may differ in the last bits; both confirm
        at = verdict.counterexample["m"]
        assert float(verdict.evidence["difference"]) == pytest.approx(-1e-9 * at, rel=1e-12)


def test_cancellation_near_zero_is_not_refuted_on_the_fast_path():
    # lines 66 and 77 lose every digit near m = 0 in float64: the kernels disagree wildly there,
    # and only the 50/80-digit re-checks decide (they hold)
    verdict = check(LINE_66, LINE_77, domain={m: (1e-9, 1e-3)}, symbolic=False,
                    sampling=Sampling(20_000, "numba"))
    assert verdict.status is Status.NUMERIC
    assert verdict.evidence["float_backend"].startswith("numba")
    assert verdict.evidence["float_suspects"] > 0


def test_sampling_is_validated_and_the_cli_rejects_bad_points(capsys):
    with pytest.raises(ValueError):
        Sampling(0)
    with pytest.raises(ValueError):
        Sampling(10, "gpu")
    assert main(["verify", "--points", "0"]) == 2
    assert "--points" in capsys.readouterr().err


def test_a_numba_that_cannot_start_is_not_used(monkeypatch):
    class Broken:
        def __init__(self, *args):
            raise OSError("libllvmlite.so: cannot open shared object file")

    monkeypatch.setattr(fastpath, "_broken", False)  # restored after the test
    monkeypatch.setattr(fastpath, "Kernel", Broken)
    fastpath.preload.cache_clear()
    try:
        assert fastpath.preload() is False
        assert not fastpath.numba_available()
        assert fastpath.choose(m, (m,), 10**9, "auto")[0] == "numpy"
    finally:
        fastpath.preload.cache_clear()
