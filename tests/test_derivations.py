"""The bundled derivations (derivations/*.py): their structure. Their steps are test items.

Every step of the bundled derivations is a pytest item of its own, collected from derivations/
by deriv's pytest plugin (deriv/pytest_plugin.py; `testpaths = ["tests", "derivations"]`), so
`python -m pytest -q -n auto` checks each step once, spread over the cores. This file checks what
those items do not: that every module loads and makes steps, that every step cites its line of
the document, that every documented mistake sits beside a statement that must hold, and that the
plugin collects exactly one item per step.
"""
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deriv.runner import load_module, module_files

ROOT = Path(__file__).resolve().parent.parent
DERIVATIONS = ROOT / "derivations"
MODULES = module_files([DERIVATIONS])


@functools.cache
def loaded(path: Path):
    """The derivations a module makes (loading runs its code; once per test process)."""
    return load_module(path)


def bundled():
    return [(path, d) for path in MODULES for d in loaded(path)]


def test_bundled_modules_are_found():
    assert MODULES, f"no derivation modules under {DERIVATIONS}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_loads_and_makes_steps(path):
    derivations = loaded(path)  # raises (and fails) if the module does not load
    assert derivations, f"{path.name} makes no derivation"
    for d in derivations:
        assert d.steps, f"{d.id} has no step"


def test_every_step_cites_the_document():
    for path, d in bundled():
        assert d.source, f"{path.name}: {d.id} has no source document"
        for step in d.steps:
            assert isinstance(step.line, int) and step.line > 0, f"{d.id} {step.label}: no line"


def test_every_expected_refutation_has_a_true_statement_beside_it():
    """A mistake of the document is encoded as written, with a note saying what is wrong, and
    the true statement next to it as a step that must hold: its corrected step (`corrected=`,
    which has `correction_of`), or a later claim at the same line (the strict inequality at 328
    is followed by the `≤` claim)."""
    refutations = 0
    for path, d in bundled():
        for step in d.steps:
            if step.expect != "refuted":
                continue
            refutations += 1
            assert step.note.strip(), f"{d.id} {step.label}: no note"
            corrections = [s for s in d.steps if s.correction_of == step.index]
            restated = [s for s in d.steps[step.index:] if s.line == step.line and s.expect is None]
            assert corrections or restated, f"{path.name}: {d.id} {step.label} has no true statement beside it"
    assert refutations, "the document's known mistakes are encoded as expected refutations"


def test_corrections_correct_an_expected_refutation():
    for _, d in bundled():
        for step in d.steps:
            if step.correction_of is None:
                continue
            wrong = d.steps[step.correction_of - 1]
            assert wrong.expect == "refuted" and wrong.index < step.index, f"{d.id} {step.label}"
            assert step.expect is None and step.line == wrong.line, f"{d.id} {step.label}"


def test_the_plugin_collects_one_item_per_step():
    """`pytest --collect-only derivations` lists every bundled step once, under its nodeid."""
    expected = []
    for path, d in bundled():
        for step in d.steps:
            corrected = ", corrected" if step.correction_of else ""
            expected.append(f"derivations/{path.name}::{d.id}::step-{step.index} (line {step.line}{corrected})")
    assert len(set(expected)) == len(expected), "nodeids must be unique (pytest-xdist)"
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--deriv-no-cache", "derivations"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0, run.stdout + run.stderr
    collected = [line for line in run.stdout.splitlines() if "::" in line]
    assert collected == expected
