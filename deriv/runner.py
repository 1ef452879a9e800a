"""Load derivation modules, check every step (optionally in parallel), collect the results.

Loading a derivation module runs its code, exactly as importing it (or pytest collecting it)
would. A module that fails to load is reported with its file and line; the others are checked.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import multiprocessing

from . import document, fastpath, model, prob
from .probcheck import check_prob_step
from .cache import VerdictCache, step_key
from .checks import check, check_experiment, check_limit
from .diagnosis import diagnose, diagnose_limit
from .model import Derivation, Step
from .numeric import Sampling
from .budget import BudgetExceeded, alarm
from .verdict import Status, Verdict

LOAD_SECONDS = 60.0  # a derivation module must load within this (it only builds expressions)
DERIVATION_SECONDS = 1800.0  # all the steps of one derivation; the rest become `unknown`


@dataclass(frozen=True)
class StepResult:
    index: int
    line: int | None
    relation: str
    kind: str
    expected: str | None
    correction_of: int | None
    note: str
    lhs: str
    rhs: str
    verdict: Verdict
    cached: bool = False

    @property
    def met(self) -> bool:
        """Does this step meet its expectation (DESIGN §4)?"""
        if self.expected == "refuted":
            return self.verdict.status is Status.REFUTED
        if self.relation == "approx":  # reported, never judged: only an error is not met
            return self.verdict.status is not Status.ERROR
        return self.verdict.status in (Status.PROVED, Status.NUMERIC)


@dataclass(frozen=True)
class DerivationResult:
    id: str
    title: str
    source: str | None
    file: str
    steps: tuple[StepResult, ...]
    notes: tuple[str, ...] = ()  # said once per source document (how it was read)

    @property
    def passed(self) -> bool:
        return all(s.met for s in self.steps)


@dataclass(frozen=True)
class LoadFailure:
    file: str
    message: str


@dataclass
class RunResult:
    derivations: list[DerivationResult] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures and all(d.passed for d in self.derivations)

    def summary(self) -> dict:
        steps = [s for d in self.derivations for s in d.steps]
        counts = {status.value: 0 for status in Status}
        for s in steps:
            counts[s.verdict.status.value] += 1
        return {"derivations": len(self.derivations), "steps": len(steps), **counts,
                "unexpected": sum(1 for s in steps if not s.met),
                "load_errors": len(self.failures), "seconds": round(self.seconds, 3)}


# -- loading --------------------------------------------------------------------------------

def bundled_path() -> Path:
    """The document's derivations shipped with deriv (the `derivations` package)."""
    spec = importlib.util.find_spec("derivations")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the bundled derivations package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def module_files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.glob("*.py") if not f.name.startswith("_"))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    return files


class ModuleTimeout(Exception):
    """A derivation module that did not finish loading within its time limit."""


def load_module(path: Path, load_seconds: float = LOAD_SECONDS) -> list[Derivation]:
    """Execute one derivation module and return the derivations it made, in order.

    Loading runs under a wall-clock limit (SIGALRM, in the main thread): a module that loops
    is reported with the line it was stuck at, and the other modules are still checked."""
    if document.is_document(path):  # read, not executed
        try:
            with alarm(load_seconds):
                return document.load(path)
        except BudgetExceeded as exc:
            raise ModuleTimeout(f"the document was not read within {load_seconds:g} s") from exc
    before = len(model._created)
    name = f"deriv_module_{abs(hash(str(path.resolve())))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with alarm(load_seconds):
            spec.loader.exec_module(module)
    except BudgetExceeded as exc:
        raise ModuleTimeout(f"the module did not finish loading within {load_seconds:g} s "
                            "(an endless loop, or a computation to move into a step?)") from exc
    finally:
        sys.modules.pop(name, None)
    made = [d for d in model._created[before:] if d.module == name]
    del model._created[before:]
    for position, derivation in enumerate(made):
        derivation.position = position
    return made


def describe_load_error(path: Path, exc: BaseException) -> str:
    """`file:line: Error: message`, the line being the module's own (for a module stopped by its
    time limit, the line it was running)."""
    tracebacks = [exc.__traceback__] + ([exc.__cause__.__traceback__] if exc.__cause__ else [])
    frames = [f for tb in tracebacks for f in traceback.extract_tb(tb) if f.filename == str(path)]
    where = f"{path}:{frames[-1].lineno}" if frames else str(path)
    return f"{where}: {type(exc).__name__}: {exc}"


def collect(paths: Sequence[str | Path], load_seconds: float = LOAD_SECONDS,
            ) -> tuple[list[tuple[Path, Derivation]], list[LoadFailure]]:
    found, failures = [], []
    for path in module_files(paths):
        try:
            found += [(path, d) for d in load_module(path, load_seconds)]
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt in a module too
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(LoadFailure(str(path), describe_load_error(path, exc)))
    return found, failures


# -- checking --------------------------------------------------------------------------------

def _key(step: Step, derivation: Derivation, domain: dict, sampling: Sampling) -> str | None:
    if step.kind in ("experiment", "unreadable"):
        return None  # an experiment's code is not part of the key: always run it
    tables = [(t.signature(), t.data) for t in prob.tables_in(step.lhs, step.rhs)] \
        if prob.is_probabilistic(step.lhs, step.rhs) else []
    return step_key(step.kind, step.relation, step.lhs, step.rhs, step.wrt, step.var, step.point,
                    step.direction, domain, step.hint, step.timeout or derivation.timeout,
                    step.certificate, tables, sampling.points)


def check_step(step: Step, derivation: Derivation, cache: VerdictCache | None = None,
               timeout: float | None = None, sampling: Sampling | None = None) -> tuple[Verdict, bool]:
    """The verdict of one step, from the cache when it has an unchanged copy."""
    domain = {**derivation.domain, **(step.domain or {})}
    timeout = step.timeout or derivation.timeout or timeout
    sampling = sampling or Sampling()
    key = _key(step, derivation, domain, sampling) if cache and cache.enabled else None
    if key:
        hit = cache.get(key)
        if hit is not None:
            return hit, True
    if step.kind == "limit":
        verdict = check_limit(step.lhs, step.var, step.point, step.rhs, direction=step.direction,
                              domain=domain, timeout=timeout)
    elif step.kind == "experiment":
        verdict = check_experiment(step.run, timeout=timeout)
    elif step.kind == "unreadable":
        verdict = Verdict(Status.ERROR, "read", f"cannot read `{step.claim}`: {step.note}")
    elif step.relation == "approx":
        verdict = check_approx(step, domain, timeout, sampling)
    elif prob.is_probabilistic(step.lhs, step.rhs):
        verdict = check_prob_step(step.lhs, step.rhs, step.relation, wrt=step.wrt or None,
                                  certificate=step.certificate, timeout=timeout, hint=step.hint,
                                  sampling=sampling)
    else:
        verdict = check(step.lhs, step.rhs, step.relation, domain=domain, wrt=step.wrt,
                        timeout=timeout, hint=step.hint, sampling=sampling)
    if verdict.status is Status.REFUTED and step.kind in ("relation", "limit"):
        verdict = verdict.with_evidence(diagnosis=diagnose_step(step, derivation, verdict, timeout, sampling))
    if key:
        cache.put(key, verdict)
    return verdict, False


def check_approx(step: Step, domain: dict, timeout: float | None, sampling: Sampling) -> Verdict:
    """`lhs ≈ rhs` is reported, never refuted: checked as an identity, and where the identity is
    refuted the verdict is `unknown` with how far apart the sides are at the counterexample."""
    if prob.is_probabilistic(step.lhs, step.rhs):
        exact = check_prob_step(step.lhs, step.rhs, "eq", timeout=timeout, hint=step.hint, sampling=sampling)
    else:
        exact = check(step.lhs, step.rhs, "eq", domain=domain, timeout=timeout, hint=step.hint,
                      sampling=sampling)
    if exact.status is not Status.REFUTED:
        return exact
    return Verdict(Status.UNKNOWN, "approx", "≈ is reported, not judged: the sides are not equal "
                   f"({exact.detail})", counterexample=exact.counterexample, seconds=exact.seconds)


def diagnose_step(step: Step, derivation: Derivation, verdict: Verdict, timeout: float | None,
                  sampling: Sampling) -> dict:
    """How a refuted step's sides differ and the nearest step deriv proves (deriv.diagnose)."""
    domain = {**derivation.domain, **(step.domain or {})}
    try:
        if step.kind == "limit":
            return diagnose_limit(step.lhs, step.var, step.point, step.rhs, verdict, check_value=lambda value, t: (
                check_limit(step.lhs, step.var, step.point, value, direction=step.direction, domain=domain,
                            timeout=min(t, timeout or t))))
        if prob.is_probabilistic(step.lhs, step.rhs):
            def checker(rhs, relation, seconds):
                return check_prob_step(step.lhs, rhs, relation, wrt=step.wrt or None, timeout=seconds,
                                       hint=step.hint, sampling=sampling)
        else:
            def checker(rhs, relation, seconds):
                return check(step.lhs, rhs, relation, domain=domain, wrt=step.wrt, timeout=seconds,
                             hint=step.hint, sampling=sampling)
        return diagnose(step.lhs, step.rhs, step.relation, verdict, checker=checker, domain=domain,
                        wrt=step.wrt)
    except Exception as exc:  # noqa: BLE001 - a diagnosis never costs the verdict
        return {"kind": "unknown", "summary": f"no diagnosis: {type(exc).__name__}: {exc}",
                "residual": None, "suggestion": None, "tried": 0}


def cached_step(step: Step, derivation: Derivation, cache: VerdictCache,
                sampling: Sampling) -> StepResult | None:
    """The step's result if the cache holds its verdict (no checking), else None."""
    if not cache.enabled:
        return None
    key = _key(step, derivation, {**derivation.domain, **(step.domain or {})}, sampling)
    hit = cache.get(key) if key else None
    return _step_result(step, hit, True) if hit is not None else None


def _step_result(step: Step, verdict: Verdict, cached: bool) -> StepResult:
    rhs = step.claim if step.kind in ("experiment", "unreadable") else str(step.rhs)
    lhs = str(step.lhs) if step.lhs is not None else ""
    return StepResult(step.index, step.line, step.relation, step.kind, step.expect,
                      step.correction_of, step.note, lhs, rhs, verdict, cached)


step_result = _step_result  # public name: the pytest plugin builds its StepResults with it


def over_time(step: Step, limit: float) -> StepResult:
    """A step not checked because its derivation used up its wall-clock limit."""
    return _step_result(step, Verdict(Status.UNKNOWN, "derivation-limit",
                                      f"not checked: the derivation's steps used up its limit of {limit:g} s "
                                      "(--derivation-timeout)"), False)


def check_derivation(path: Path, derivation: Derivation, cache: VerdictCache | None,
                     timeout: float | None = None,
                     on_step: Callable[[str, StepResult], None] | None = None,
                     sampling: Sampling | None = None,
                     derivation_seconds: float = DERIVATION_SECONDS) -> DerivationResult:
    results = []
    started = time.monotonic()
    for step in derivation.steps:
        if time.monotonic() - started > derivation_seconds:
            result = over_time(step, derivation_seconds)
        else:
            result = _step_result(step, *check_step(step, derivation, cache, timeout, sampling))
        results.append(result)
        if on_step:
            on_step(derivation.id, result)
    return DerivationResult(derivation.id, derivation.title, derivation.source, str(path), tuple(results),
                            derivation.notes)


_worker_modules: dict[str, list[Derivation]] = {}


def _check_in_worker(path: str, position: int, index: int, cache_on: bool,
                     cache_directory: str, timeout: float | None, sampling: Sampling) -> StepResult:
    if path not in _worker_modules:
        _worker_modules[path] = load_module(Path(path))
    derivation = _worker_modules[path][position]  # by position: ids need not be unique
    step = derivation.steps[index - 1]
    cache = VerdictCache(Path(cache_directory), enabled=cache_on)
    return _step_result(step, *check_step(step, derivation, cache, timeout, sampling))


def run(paths: Sequence[str | Path], *, jobs: int = 1, keyword: str | None = None,
        use_cache: bool = True, cache_directory: Path | None = None, timeout: float | None = None,
        sampling: Sampling | None = None, derivation_seconds: float = DERIVATION_SECONDS,
        load_seconds: float = LOAD_SECONDS,
        on_step: Callable[[str, StepResult], None] | None = None,
        on_derivation: Callable[[DerivationResult], None] | None = None,
        on_collected: Callable[[list[tuple[Path, Derivation]]], None] | None = None) -> RunResult:
    """Check every step of every derivation found under `paths`; steps are independent checks,
    so with jobs > 1 they are spread over worker processes one step at a time (results are
    assembled in document order, identical to a serial run)."""
    start = time.monotonic()
    found, failures = collect(paths, load_seconds)
    if keyword:
        needle = keyword.lower()
        found = [(p, d) for p, d in found if needle in d.id.lower() or needle in d.title.lower()]
    if on_collected:
        on_collected(found)
    cache = VerdictCache(cache_directory, enabled=use_cache)
    sampling = sampling or Sampling()
    if sampling.backend != "numpy" and sampling.points >= fastpath.CROSSOVER_CACHED:
        fastpath.preload()  # numba's start-up once here, not in every forked step
    results: list[DerivationResult] = []
    if jobs <= 1 or sum(len(d.steps) for _, d in found) <= 1:
        for path, derivation in found:
            result = check_derivation(path, derivation, cache, timeout, on_step, sampling, derivation_seconds)
            results.append(result)
            if on_derivation:
                on_derivation(result)
        return RunResult(results, failures, time.monotonic() - start)

    # Cached steps are answered here; only the others go to workers (a warm run starts none).
    # fork: workers start with sympy imported; each loads a module once, then checks steps
    hits = [[cached_step(s, d, cache, sampling) for s in d.steps] for _, d in found]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [[hit or pool.submit(_check_in_worker, str(path), d.position, s.index, use_cache,
                                       str(cache.directory), timeout, sampling)
                    for s, hit in zip(d.steps, step_hits)]
                   for (path, d), step_hits in zip(found, hits)]
        for (path, derivation), step_futures in zip(found, futures):
            steps = []
            spent = 0.0  # seconds of checking this derivation's steps took, in whichever worker
            for position, (step, future) in enumerate(zip(derivation.steps, step_futures)):
                if not isinstance(future, StepResult) and future.cancelled():
                    result = over_time(step, derivation_seconds)
                    steps.append(result)
                    if on_step:
                        on_step(derivation.id, result)
                    continue
                try:
                    result = future if isinstance(future, StepResult) else future.result()
                    spent += 0.0 if result.cached else result.verdict.seconds
                    if spent > derivation_seconds:
                        # the limit is used up: steps not yet started are not started (those
                        # already running finish within their own step budgets)
                        for later in step_futures[position + 1:]:
                            if not isinstance(later, StepResult):
                                later.cancel()
                except Exception as exc:  # noqa: BLE001 - a dead worker fails its step, not the run
                    verdict = Verdict(Status.ERROR, "worker", f"worker process failed: "
                                      f"{type(exc).__name__}: {exc}")
                    result = _step_result(step, verdict, False)
                steps.append(result)
                if on_step:
                    on_step(derivation.id, result)
            result = DerivationResult(derivation.id, derivation.title, derivation.source, str(path),
                                      tuple(steps), derivation.notes)
            results.append(result)
            if on_derivation:
                on_derivation(result)
    return RunResult(results, failures, time.monotonic() - start)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
