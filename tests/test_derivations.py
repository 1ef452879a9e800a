"""The bundled derivations as test items: one pytest item per step (DESIGN §8).

Collecting executes the derivation modules (as importing them would); it happens once, when this
file is imported. A module that cannot be loaded becomes a failing item of its own. The steps are
checked once per session by the runner on every core (as `deriv verify` does, without the
verdict cache); each item then asserts on its own step's verdict.
"""
from pathlib import Path

import pytest

from deriv import Status
from deriv.runner import collect, default_jobs, run

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"
FOUND, LOAD_FAILURES = collect([DERIVATIONS])

STEPS = [
    pytest.param(position, step,
                 id=f"{derivation.id}::step-{step.index} "
                    f"({'line ' + str(step.line) if step.line is not None else 'no line'})")
    for position, (_, derivation) in enumerate(FOUND) for step in derivation.steps
]


@pytest.fixture(scope="session")
def verdicts():
    """(position of the derivation, step index) -> StepResult, for every bundled step."""
    result = run([DERIVATIONS], jobs=default_jobs(), use_cache=False)
    assert len(result.derivations) == len(FOUND)
    return {(i, s.index): s for i, d in enumerate(result.derivations) for s in d.steps}


def test_bundled_derivations_are_found():
    assert FOUND, f"no derivations under {DERIVATIONS}"
    assert STEPS


@pytest.mark.parametrize("failure", LOAD_FAILURES or [None], ids=lambda f: "load" if f is None else f.file)
def test_bundled_modules_load(failure):
    assert failure is None, failure.message


@pytest.mark.parametrize("position, step", STEPS)
def test_step(position, step, verdicts):
    result = verdicts[(position, step.index)]
    verdict = result.verdict
    assert not result.cached and result.line == step.line
    shown = f"{verdict.status} via {verdict.method}: {verdict.detail}"
    if step.expect == "refuted":
        assert verdict.status is Status.REFUTED, f"expected a refutation ({step.note}); got {shown}"
        assert verdict.counterexample is not None, shown
    else:
        assert verdict.status in (Status.PROVED, Status.NUMERIC), shown
