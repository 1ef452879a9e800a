"""deriv's pytest plugin: every step of a derivation is a test item (DESIGN §8).

Registered through the `pytest11` entry point, so installing deriv is enough. It collects

* `.py` files whose name does not start with `_` (nor `conftest.py`), in a directory named
  `derivations`, and
* files matching a pattern of the ini option `deriv_files` (fnmatch globs on the path relative
  to the rootdir, e.g. `docs/proofs/*.py`; a glob may name Markdown/LaTeX documents too,
  `posts/*.md`, which are read, not executed),

and nothing else: a project that has no `derivations` directory and no `deriv_files` is not
affected (`-p no:deriv` turns the plugin off altogether). **Collecting a derivation module runs
its code**, as importing it would.

Tree: one `DerivationModule` (a `pytest.File`) per module -> one `DerivationCollector` per
derivation, named by its id (a repeated id gets `#2`, `#3`, ... in the order the module makes
them) -> one `StepItem` per step, named `step-N (line L)` (`no line` when the step has none,
`, corrected` on the corrected step of a documented mistake). nodeids depend only on the files, so
pytest-xdist (`-n auto`) can spread the steps over cores and machines.

An item passes when its step meets its expectation: proved or numeric, or -- for a step marked
`expect="refuted"` -- refuted with a counterexample. Its verdict is recorded in
`item.user_properties` (`deriv_status`, `deriv_method`, `deriv_line`, `deriv_cached`, and
`deriv_expected` when set), which `--junitxml` writes as properties of the test case. A module
that cannot be loaded becomes one failing item, `<module>::load`, with the file and line of the
error; the other modules are collected and run.
"""
from __future__ import annotations

import fnmatch
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

# deriv's engine (sympy, numpy, mpmath) is imported only when a derivation module is collected:
# installing deriv must not slow down, or risk breaking, every other project's pytest run.
from .verdict import Status  # light: no engine import

if False:  # noqa: SIM108 - for type checkers only
    from .cache import VerdictCache
    from .model import Derivation, Step
    from .numeric import Sampling
    from . import runner

DIRECTORY = "derivations"
DOCUMENT_SUFFIXES = (".md", ".markdown", ".tex", ".txt")  # = deriv.document.DOCUMENT_SUFFIXES
PROPERTY_PREFIX = "deriv_"


@dataclass
class Settings:
    cache: VerdictCache
    timeout: float | None
    sampling: Sampling
    numba_ready: bool = False


SETTINGS = pytest.StashKey[Settings]()


# -- options ----------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deriv", "deriv: every step of a derivation as a test item")
    group.addoption("--deriv-no-cache", action="store_true", default=False,
                    help="re-check every step: do not read or write deriv's verdict cache "
                         "($DERIV_CACHE_DIR, else $XDG_CACHE_HOME/deriv, else ~/.cache/deriv)")
    group.addoption("--deriv-timeout", type=float, default=None, metavar="SECONDS",
                    help="time budget per step (default 120 s; a step's or derivation's own "
                         "timeout= wins)")
    group.addoption("--deriv-points", type=int, default=None, metavar="N",
                    help="float64 points per step in the numeric screen (default 2000)")
    parser.addini("deriv_files", type="linelist", default=[],
                  help="deriv: more derivation modules to collect, as fnmatch globs on the path "
                       "relative to the rootdir (besides *.py in any directory named 'derivations')")


def pytest_configure(config: pytest.Config) -> None:
    timeout = config.getoption("deriv_timeout")
    points = config.getoption("deriv_points")
    if timeout is not None and not timeout > 0:
        raise pytest.UsageError(f"--deriv-timeout must be a positive number of seconds, not {timeout}")
    if points is not None and points < 1:
        raise pytest.UsageError(f"--deriv-points must be at least 1, not {points}")
    config.pluginmanager.register(Summary(), "deriv-summary")


def settings_of(config: pytest.Config) -> Settings:
    """The run's settings, made (with the engine imported) on first use."""
    if SETTINGS not in config.stash:
        from .cache import VerdictCache
        from .numeric import FLOAT_POINTS, Sampling

        points = config.getoption("deriv_points")
        config.stash[SETTINGS] = Settings(
            cache=VerdictCache(enabled=not config.getoption("deriv_no_cache")),
            timeout=config.getoption("deriv_timeout"), sampling=Sampling(points or FLOAT_POINTS))
    return config.stash[SETTINGS]


# -- collection -------------------------------------------------------------------------------

def is_derivation_file(path: Path, config: pytest.Config) -> bool:
    """The collection rule: *.py (not _*) in a directory named `derivations`, or a `deriv_files`
    glob (which may also name Markdown/LaTeX documents: `posts/*.md`)."""
    if path.suffix == ".py" and path.parent.name == DIRECTORY and not path.name.startswith("_") \
            and path.name != "conftest.py":
        return True
    if path.suffix != ".py" and path.suffix.lower() not in DOCUMENT_SUFFIXES:
        return False
    patterns = config.getini("deriv_files")
    if not patterns:
        return False
    try:
        relative = path.resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        relative = path.as_posix()
    return any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if is_derivation_file(file_path, parent.config):
        return DerivationModule.from_parent(parent, path=file_path)
    return None


def load_with_lines(path: Path) -> tuple[list[Derivation], dict[tuple[int, int], int]]:
    """`runner.load_module`, also noting where in the module each step is written:
    {(id(derivation), step index): 1-based line of the module}. The line is that of the
    outermost frame in the module (its top-level statement), so steps made by a helper
    function are told apart by the call that made them."""
    from . import model, runner

    filename = str(path)
    lines: dict[tuple[int, int], int] = {}
    add = model.Derivation._add

    def add_noting_line(self, step):
        add(self, step)
        frame, line = sys._getframe(1), None
        while frame is not None:
            if frame.f_code.co_filename == filename:
                line = frame.f_lineno
            frame = frame.f_back
        if line is not None:
            lines[(id(self), len(self.steps))] = line

    model.Derivation._add = add_noting_line
    try:
        derivations = runner.load_module(path)
    finally:
        model.Derivation._add = add
    return derivations, lines


def derivation_names(derivations: list[Derivation]) -> list[str]:
    """Collector names: the ids, a repeated id numbered `#2`, `#3`, ... in module order."""
    seen: dict[str, int] = {}
    names = []
    for derivation in derivations:
        name = (derivation.id or "derivation").replace("::", ":")  # `::` separates nodeid parts
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def step_name(step: Step) -> str:
    where = f"line {step.line}" if step.line is not None else "no line"
    return f"step-{step.index} ({where}{', corrected' if step.correction_of else ''})"


class DerivationModule(pytest.File):
    """One derivation module: loading it runs its code and yields its derivations."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        try:
            derivations, lines = load_with_lines(self.path)
        except (KeyboardInterrupt, pytest.skip.Exception, pytest.exit.Exception):
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit in a module too: report it, go on
            from . import runner

            message = runner.describe_load_error(self.path, exc)
            if message.startswith(str(self.path)):  # the path as pytest shows it (from the rootdir)
                message = self.nodeid + message[len(str(self.path)):]
            yield LoadErrorItem.from_parent(self, name="load", message=message,
                                            module_line=error_line(self.path, exc))
            return
        for derivation, name in zip(derivations, derivation_names(derivations)):
            yield DerivationCollector.from_parent(self, name=name, derivation=derivation, lines=lines)


class DerivationCollector(pytest.Collector):
    """One derivation; its children are its steps, in order."""

    def __init__(self, *, derivation: Derivation, lines: dict[tuple[int, int], int], **kwargs):
        super().__init__(**kwargs)
        self.derivation = derivation
        self.lines = lines

    def collect(self) -> Iterator[pytest.Item]:
        for step in self.derivation.steps:
            yield StepItem.from_parent(self, name=step_name(step), derivation=self.derivation, step=step,
                                       module_line=self.lines.get((id(self.derivation), step.index)))

    def reportinfo(self):
        return self.path, None, self.name


class StepFailed(Exception):
    """A step that does not meet its expectation; the message is the whole failure report."""


class PlainFailure(pytest.Item):
    """An item whose failure is its message (no traceback), located at a line of its module."""

    module_line: int | None = None

    def label(self) -> str:
        raise NotImplementedError

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, StepFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        # pytest's line is 0-based and points into the derivation module (not the document)
        return self.path, None if self.module_line is None else self.module_line - 1, self.label()


class StepItem(PlainFailure):
    """One step: checked (or answered by the verdict cache) when the item runs."""

    def __init__(self, *, derivation: Derivation, step: Step, module_line: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.derivation = derivation
        self.step = step
        self.module_line = module_line  # 1-based line of the derivation module
        self.result: runner.StepResult | None = None

    def runtest(self) -> None:
        from . import fastpath, runner

        settings = settings_of(self.config)
        if not settings.numba_ready and settings.sampling.points >= fastpath.CROSSOVER_CACHED:
            fastpath.preload()  # numba's start-up once, not in every forked check
            settings.numba_ready = True
        verdict, cached = runner.check_step(self.step, self.derivation, settings.cache,
                                            settings.timeout, settings.sampling)
        result = self.result = runner.step_result(self.step, verdict, cached)
        self.user_properties += [(PROPERTY_PREFIX + "status", verdict.status.value),
                                 (PROPERTY_PREFIX + "method", verdict.method),
                                 (PROPERTY_PREFIX + "line", "none" if result.line is None else str(result.line)),
                                 (PROPERTY_PREFIX + "cached", str(cached).lower())]
        if result.expected:
            self.user_properties.append((PROPERTY_PREFIX + "expected", result.expected))
        problem = unmet(result)
        if problem:
            raise StepFailed(self.failure_text(result, problem))

    def failure_text(self, result: runner.StepResult, problem: str) -> str:
        d, verdict = self.derivation, result.verdict
        where = self.nodeid.split("::", 1)[0] + (f":{self.module_line}" if self.module_line else "")
        line = f"line {result.line}" if result.line is not None else "no line"
        text = [f"{d.id}: step {result.index} ({line}) {problem}",
                f"  derivation: {d.id}" + (f" -- {d.title}" if d.title else ""),
                f"  file:       {where}",
                f"  step:       {result.index}, {line}" + (f" of {d.source}" if d.source else "")
                + (f" (corrects step {result.correction_of})" if result.correction_of else ""),
                f"  claim:      {claim_text(result)}",
                "  expected:   " + ("refuted, with a counterexample" if result.expected == "refuted"
                                    else "proved or numeric"),
                f"  status:     {verdict.status.value}" + (" (from the verdict cache)" if result.cached else ""),
                f"  method:     {verdict.method}"]
        if verdict.detail:
            text.append(f"  detail:     {verdict.detail}")
        if result.note:
            text.append(f"  note:       {result.note}")
        from .explain import evidence_lines

        evidence = evidence_lines(verdict, result.relation)
        if evidence:
            text.append("  evidence:")
            text += [f"    {entry}" for entry in evidence]
        return "\n".join(text)

    def label(self) -> str:
        return f"{self.parent.name}::{self.name}"


def unmet(result: runner.StepResult) -> str | None:
    """Why the step does not meet its expectation (DESIGN §4), or None when it does."""
    status = result.verdict.status
    if result.expected == "refuted":
        if status is not Status.REFUTED:
            return f"was expected to be refuted (a mistake of the document), but it is {status.value}"
        if result.verdict.counterexample is None:
            return "is refuted as expected, but without a counterexample"
        return None
    if not result.met:
        return {Status.REFUTED: "does not hold", Status.UNKNOWN: "is undecided",
                Status.ERROR: "could not be checked"}.get(status, f"is {status.value}")
    return None


def claim_text(result: runner.StepResult) -> str:
    if result.kind == "experiment":
        return f"run: {result.rhs}"
    from .explain import RELATIONS

    relation = RELATIONS.get(result.relation, result.relation)
    if result.relation == "limit":
        return f"lim {result.lhs} = {result.rhs}"
    return f"{result.lhs} {relation} {result.rhs}"


class LoadErrorItem(PlainFailure):
    """A derivation module that could not be loaded: one failing item with the file and line."""

    def __init__(self, *, message: str, module_line: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.message = message
        self.module_line = module_line  # 1-based line of the module where loading failed

    def runtest(self) -> None:
        self.user_properties.append((PROPERTY_PREFIX + "load_error", self.message))
        raise StepFailed(f"{self.message}\n(the derivation module could not be loaded; "
                         "the other modules are collected and run)")

    def label(self) -> str:
        return f"{self.path.name}::{self.name}"


def error_line(path: Path, exc: BaseException) -> int | None:
    """The line of `path` where loading it failed (the innermost frame there, or a SyntaxError's)."""
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


# -- summary ----------------------------------------------------------------------------------

class Summary:
    """Counts the verdicts of the step items (on the xdist controller too: it reads the reports)."""

    def __init__(self):
        self.counts = {status.value: 0 for status in Status}
        self.cached = self.expected_refutations = self.unmet = self.load_errors = 0

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        properties = dict(report.user_properties)
        if PROPERTY_PREFIX + "load_error" in properties:
            self.load_errors += 1
        status = properties.get(PROPERTY_PREFIX + "status")
        if status not in self.counts:
            return
        self.counts[status] += 1
        self.cached += properties.get(PROPERTY_PREFIX + "cached") == "true"
        self.expected_refutations += properties.get(PROPERTY_PREFIX + "expected") == "refuted"
        self.unmet += report.failed

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:
        steps = sum(self.counts.values())
        if not steps and not self.load_errors:
            return
        counts = ", ".join(f"{n} {status}" for status, n in self.counts.items())
        line = f"deriv: {plural(steps, 'step')}: {counts}"
        if self.expected_refutations:
            line += f"; {plural(self.expected_refutations, 'expected refutation')}"
        line += f"; {self.unmet} not as expected"
        if self.cached:
            line += f"; {self.cached} from the verdict cache"
        if self.load_errors:
            line += f"; {plural(self.load_errors, 'module')} could not be loaded"
        terminalreporter.write_line(line)


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
