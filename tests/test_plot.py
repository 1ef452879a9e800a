"""`deriv plot`: the sampled data (mpmath, never float64), the PNG, and the error exits.

Every test runs with MPLBACKEND and DISPLAY unset: the plots need no display.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("matplotlib")

from deriv import cli, plot  # noqa: E402
from deriv.runner import bundled_path, collect, run  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

FIXTURE = """
import sympy as sp
from deriv import Derivation, ExperimentResult

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)

good = Derivation("fixture/good", "a true one-variable step", source="fixture.md", domain={x: (0.1, 3)})
good.start(1, sp.log(x**2)).eq(2, 2*sp.log(x))

wrong = Derivation("fixture/wrong", "a refuted step", source="fixture.md", domain={x: (0.1, 3)})
wrong.start(3, (x + 1)**2)
wrong.eq(4, x**2 + 1, expect="refuted", note="the cross term 2x is missing", corrected=x**2 + 2*x + 1)

limit = Derivation("fixture/limit", "a limit", source="fixture.md")
limit.start(5, sp.sin(x) / x).limit(6, x, 0, 1)

two = Derivation("fixture/two", "two variables", source="fixture.md", domain={x: (0.1, 3), y: (-1, 1)})
two.start(7, (x + y)**2).eq(8, x**2 + 2*x*y + y**2)

const = Derivation("fixture/const", "= c + ...", source="fixture.md", domain={x: (0.1, 3)}, params=[x])
const.start(9, sp.log(2*x)).const(10, sp.log(x))
const.start(9, sp.log(2*x)).const(11, 2*sp.log(x), expect="refuted", note="log(x) is not 2 log(x)")

lab = Derivation("fixture/experiment", "runs code", source="fixture.md")
lab.experiment(12, "it works", lambda: ExperimentResult(True, "ok"))
"""


@pytest.fixture(autouse=True)
def no_display(monkeypatch, tmp_path):
    """No display, no backend chosen by the environment, and a private (empty) verdict cache."""
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DERIV_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "fixture_derivations.py"
    path.write_text(textwrap.dedent(FIXTURE))
    return path


@pytest.fixture(scope="module")
def fixture_found(tmp_path_factory):
    path = tmp_path_factory.mktemp("fixture") / "fixture_derivations.py"
    path.write_text(textwrap.dedent(FIXTURE))
    found, failures = collect([path])
    assert not failures
    return {d.id: d for _, d in found}


@pytest.fixture(scope="module")
def bundled():
    found, failures = collect([bundled_path()])
    assert not failures
    return {d.id: d for _, d in found}


def assert_png(path: Path, capsys=None):
    from matplotlib.image import imread

    assert path.exists(), f"{path} was not written"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(str(path))
    height, width = image.shape[:2]
    assert 500 <= height <= 3000 and 700 <= width <= 4000, image.shape
    assert image[..., :3].std() > 0.05  # something was drawn, not a blank canvas


def plot_cli(*args, cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return cli.main(["plot", *map(str, args)])
    finally:
        os.chdir(old)


# -- the sampled data -------------------------------------------------------------------------------

def test_true_step_difference_is_zero(fixture_found):
    d = fixture_found["fixture/good"]
    data = plot.plot_data(d.steps[0], d, points=50)
    assert data.var == "x" and len(data.x) == 50
    assert 0.1 < data.x.min() and data.x.max() < 3  # the open interval of the domain
    assert np.allclose(data.lhs, 2 * np.log(data.x), rtol=1e-14, atol=0)
    assert np.all(np.isfinite(data.difference))
    assert np.abs(data.difference).max() < 1e-25
    assert data.zero_difference


def test_refuted_step_difference_shows_where_sides_part(fixture_found):
    d = fixture_found["fixture/wrong"]
    refuted, corrected = d.steps
    data = plot.plot_data(refuted, d, points=40)
    # (x + 1)^2 - (x^2 + 1) = 2x: the plotted difference is that function, not ~0
    assert np.allclose(data.difference, 2 * data.x, rtol=1e-14)
    assert not data.zero_difference
    fixed = plot.plot_data(corrected, d, points=40)
    assert fixed.zero_difference


def test_const_step_difference_minus_its_middle_value(fixture_found):
    d = fixture_found["fixture/const"]
    true, wrong = d.steps
    ok = plot.plot_data(true, d, points=40)
    assert ok.reference == pytest.approx((0.1 + 3) / 2)
    assert np.abs(ok.difference).max() < 1e-25
    bad = plot.plot_data(wrong, d, points=40)
    # log(2x) - 2 log(x) - c with c its value at the middle: log(mid) - log(x)
    assert np.allclose(bad.difference, np.log(bad.reference) - np.log(bad.x), rtol=1e-12, atol=1e-14)


def test_limit_step_approach(fixture_found):
    d = fixture_found["fixture/limit"]
    data = plot.plot_data(d.steps[0], d, points=60)
    assert data.kind == "limit" and data.limit_value == 1.0 and set(data.approach) == {"+", "-"}
    h = data.x
    assert h.min() < 1e-7 and np.all(np.diff(h) > 0)
    for side in ("+", "-"):
        gap = data.gap[side]
        assert np.all(np.isfinite(gap))
        # sin(h)/h - 1 = -h^2/6 + h^4/120 - ...
        small = h < 1e-2
        assert np.allclose(gap[small], -h[small] ** 2 / 6 + h[small] ** 4 / 120, rtol=1e-6, atol=0)


def test_max_entropy_gradient_approaches_zero_without_cancellation(bundled):
    """Line 82: the gradient of line 77 is a difference of two terms ~1/m; float64 turns it into
    noise near m = 0, the plot (30 digits, checked at 50) follows -m/12 + m^3/240 - ... down."""
    d = bundled["max-entropy/gradient"]
    step = d.steps[-1]
    assert step.kind == "limit" and step.line == 82
    data = plot.plot_data(step, d, points=120)
    h = data.x
    assert h.min() < 1e-8
    m = sp.Symbol("m", positive=True)
    float64 = sp.lambdify(m, step.lhs, "numpy")
    with np.errstate(all="ignore"):
        naive = float64(h)
    series = -h / 12 + h ** 3 / 240 - h ** 5 / 6048
    small = h < 1e-2
    # float64 really does cancel catastrophically here (so the test below means something) ...
    assert np.nanmax(np.abs(naive[small] - series[small]) / (h[small] / 12)) > 1.0
    # ... while the plotted values have no gaps and no spikes: they follow the series
    plus, minus = data.approach["+"], data.approach["-"]
    assert np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))
    assert np.allclose(plus[small], series[small], rtol=1e-8, atol=0)
    assert np.allclose(minus[small], -series[small], rtol=1e-8, atol=0)
    # the approach to 0 is monotone as m -> 0 (from the right: the gradient is negative)
    near = h < 1.0
    assert np.all(plus[near] < 0) and np.all(np.diff(np.abs(plus[near])) > 0)
    assert np.abs(plus[0]) < 1e-9 and data.limit_value == 0.0
    assert np.allclose(np.abs(data.gap["+"]), np.abs(plus))


def test_max_entropy_identity_of_line_77_is_zero_on_the_whole_interval(bundled):
    d = bundled["max-entropy/gradient"]
    step = next(s for s in d.steps if s.line == 77)
    data = plot.plot_data(step, d, points=80)
    assert data.var == "m" and np.all(np.isfinite(data.lhs))
    assert data.zero_difference and data.unsettled == 0


def test_two_variables_with_var_fixes_the_other_at_its_midpoint(fixture_found):
    d = fixture_found["fixture/two"]
    data = plot.plot_data(d.steps[0], d, var="y", points=30)
    assert data.fixed == {"x": pytest.approx(1.55)}
    assert np.allclose(data.lhs, (1.55 + data.x) ** 2, rtol=1e-13)
    assert data.zero_difference
    assert any("x = 1.55" in n for n in data.notes)


def test_range_and_log_x(fixture_found):
    d = fixture_found["fixture/good"]
    data = plot.plot_data(d.steps[0], d, range=(1e-3, 10), points=30, log_x=True)
    assert data.log_x and 1e-3 < data.x[0] < 1.5e-3 and 8 < data.x[-1] < 10
    ratios = data.x[1:] / data.x[:-1]
    assert np.allclose(ratios, ratios[0])


def test_probability_step_over_one_logit(bundled):
    d = bundled["cross-entropy/identity"]
    refuted = next(s for s in d.steps if s.expect == "refuted")
    corrected = next(s for s in d.steps if s.correction_of == refuted.index)
    wrong = plot.plot_data(refuted, d, var="a_q__0", points=40)
    right = plot.plot_data(corrected, d, var="a_q__0", points=40)
    assert set(wrong.fixed) == {"a_q__1", "a_p__0", "a_p__1"}
    assert wrong.fixed == right.fixed  # the same seeded point for the step and its correction
    assert right.zero_difference
    # the document's rhs is -KL + H; the truth is KL + H: the sides differ by 2 KL(p||q) >= 0
    assert not wrong.zero_difference and np.nanmin(wrong.difference) >= -1e-20
    a = wrong.fixed
    p = np.exp([a["a_p__0"], a["a_p__1"]]) / np.exp([a["a_p__0"], a["a_p__1"]]).sum()
    q0 = np.exp(wrong.x) / (np.exp(wrong.x) + np.exp(a["a_q__1"]))
    kl = p[0] * np.log(p[0] / q0) + p[1] * np.log(p[1] / (1 - q0))
    assert np.allclose(wrong.difference, 2 * kl, rtol=1e-10, atol=1e-14)


def test_probability_step_with_a_parameter_is_plotted_over_it(bundled):
    d = bundled["vae/l2-gradient"]
    data = plot.plot_data(d.steps[0], d, points=30)
    assert data.var == "m" and -1 < data.x[0] < data.x[-1] < 1
    assert np.all(np.isfinite(data.lhs)) and data.zero_difference
    assert any(n.startswith("at sizes [") for n in data.notes)


# -- the command ---------------------------------------------------------------------------------

def test_cli_writes_png_for_true_refuted_and_limit_steps(module, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert plot_cli("fixture/good", "1", "--from", module, "--points", "60", cwd=out) == 0
    assert_png(out / "fixture_good-step1.png")
    assert plot_cli("WRONG", "line:4", "--from", module, "--points", "60", "-o", out / "w.png", cwd=out) == 0
    printed = capsys.readouterr().out
    assert "steps 1, 2 cite line 4; plotting the first, step 1" in printed
    assert_png(out / "w.png")
    assert plot_cli("fixture/limit", "L6", "--from", module, "--points", "60", cwd=out) == 0
    assert_png(out / "fixture_limit-step1.png")
    assert "wrote fixture_limit-step1.png" in capsys.readouterr().out


def test_cli_max_entropy_gradient_limit(tmp_path, capsys):
    assert plot_cli("max-entropy/gradient", "line:82", "--points", "100", cwd=tmp_path) == 0
    assert_png(tmp_path / "max-entropy_gradient-step12.png")
    out = capsys.readouterr().out
    assert "lim m→0" in out


def test_counterexample_of_a_cached_refutation_is_marked(module, tmp_path):
    result = run([module], keyword="fixture/wrong", jobs=1, cache_directory=Path(os.environ["DERIV_CACHE_DIR"]))
    refuted = result.derivations[0].steps[0]
    assert refuted.verdict.status == "refuted"
    found = {d.id: d for _, d in collect([module])[0]}
    d = found["fixture/wrong"]
    data = plot.plot_data(d.steps[0], d, points=40)
    x0 = refuted.verdict.counterexample["x"]
    assert data.counterexample is not None and data.counterexample["x"] == x0
    assert data.counterexample["lhs"] == pytest.approx((x0 + 1) ** 2, rel=1e-12)
    assert data.counterexample["rhs"] == pytest.approx(x0 ** 2 + 1, rel=1e-12)
    assert x0 in data.x
    plain = plot.plot_data(d.steps[0], d, points=40, use_cache=False)
    assert plain.counterexample is None
    plot.render(data, tmp_path / "marked.png", d.steps[0])
    assert_png(tmp_path / "marked.png")


def test_no_display_needed_in_a_fresh_process(module, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "deriv", "plot", "fixture/good", "1", "--from", str(module),
                             "--points", "30", "-o", str(tmp_path / "fresh.png")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_png(tmp_path / "fresh.png")


@pytest.mark.parametrize("args, message", [
    (["no-such-derivation", "1"], "no derivation matches 'no-such-derivation'"),
    (["fixture", "1"], "matches 6 derivations"),
    (["fixture/good", "7"], "step 7 is out of range: fixture/good has 1 step"),
    (["fixture/good", "line:99"], "no step of fixture/good cites line 99"),
    (["fixture/good", "first"], "bad STEP 'first'"),
    (["fixture/two", "1"], "this step has 2 free variables: x, y; use --var"),
    (["fixture/two", "1", "--var", "z"], "--var z: not a variable of this step; it has x, y"),
    (["fixture/experiment", "1"], "is an experiment"),
    (["fixture/limit", "1", "--var", "y"], "is a limit in x"),
    (["fixture/good", "1", "--range", "2", "1"], "LO must be below HI"),
])
def test_error_exits(module, tmp_path, capsys, args, message):
    assert plot_cli(*args, "--from", module, cwd=tmp_path) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not list(tmp_path.glob("*.png"))
    if "matches" in message:
        for name in ("fixture/good", "fixture/wrong", "fixture/limit"):
            assert name in err  # the candidates are listed


def test_probability_step_without_var_names_its_logits(tmp_path, capsys):
    assert plot_cli("cross-entropy/identity", "4", cwd=tmp_path) == 2
    err = capsys.readouterr().err
    assert "no single real variable: 4 logits at sizes [x:2]" in err
    assert "a_q__0" in err and "--var" in err


def test_step_that_cannot_be_evaluated_names_file_derivation_step_and_line(tmp_path, capsys):
    path = tmp_path / "undefined.py"
    path.write_text(textwrap.dedent("""
        import sympy as sp
        from deriv import Derivation
        x = sp.Symbol("x", real=True)
        f = sp.Function("f")
        d = Derivation("undefined/f", source="doc.md")
        d.start(3, f(x)).eq(4, f(x) + 0*x)
    """))
    assert plot_cli("undefined/f", "1", "--from", path, "--var", "x", cwd=tmp_path) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "undefined/f step 1 (line 4)" in err and "undefined function f" in err


def test_matplotlib_missing(module, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert plot_cli("fixture/good", "1", "--from", module, cwd=tmp_path) == 2
    assert "deriv plot needs matplotlib: pip install 'deriv[plot]'" in capsys.readouterr().err
