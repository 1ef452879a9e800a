"""The bundled derivations as test items: one pytest item per step (DESIGN §8).

Collecting executes the derivation modules (as importing them would); it happens once, when this
file is imported. A module that cannot be loaded becomes a failing item of its own.
"""
from pathlib import Path

import pytest

from deriv import Status
from deriv.runner import check_step, collect

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"
FOUND, LOAD_FAILURES = collect([DERIVATIONS])

STEPS = [
    pytest.param(derivation, step,
                 id=f"{derivation.id}::step-{step.index} "
                    f"({'line ' + str(step.line) if step.line is not None else 'no line'})")
    for _, derivation in FOUND for step in derivation.steps
]


def test_bundled_derivations_are_found():
    assert FOUND, f"no derivations under {DERIVATIONS}"
    assert STEPS


@pytest.mark.parametrize("failure", LOAD_FAILURES or [None], ids=lambda f: "load" if f is None else f.file)
def test_bundled_modules_load(failure):
    assert failure is None, failure.message


@pytest.mark.parametrize("derivation, step", STEPS)
def test_step(derivation, step):
    verdict, cached = check_step(step, derivation, cache=None)
    assert not cached
    shown = f"{verdict.status} via {verdict.method}: {verdict.detail}"
    if step.expect == "refuted":
        assert verdict.status is Status.REFUTED, f"expected a refutation ({step.note}); got {shown}"
        assert verdict.counterexample is not None, shown
    else:
        assert verdict.status in (Status.PROVED, Status.NUMERIC), shown
