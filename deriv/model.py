"""Derivations as chains that read like the document.

    d = Derivation("max-entropy/normaliser", "f_m and its normaliser", source=DOC,
                   domain={m: (0, 5), x: (0, 1)})
    d.start(52, sp.exp(m*x) / sp.Integral(sp.exp(m*t), (t, 0, 1)))
    d.eq(53, sp.exp(m*x) / ((sp.exp(m) - 1) / m))
    d.eq(54, m*sp.exp(m*x) / (sp.exp(m) - 1))

Each call after `start` is one step from the previous expression to the new one; its first
argument is the document line where the new right-hand side is written. A mistake of the
document is encoded as written, with `expect="refuted"`, the reason, and the corrected
right-hand side, which becomes a step of its own that must hold.
"""
from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

import sympy as sp

RELATION_SYMBOLS = {"eq": "=", "le": "≤", "ge": "≥", "lt": "<", "gt": ">", "const": "= c +",
                    "approx": "≈", "limit": "lim", "experiment": "run", "unreadable": "?"}
EXPECTATIONS = (None, "refuted")

_created: list["Derivation"] = []  # every Derivation made, in order; the loader takes its share
_counter = itertools.count()


@dataclass(frozen=True)
class Step:
    """One claim of a derivation: `lhs relation rhs`, a limit, or an experiment."""

    index: int
    line: int | None
    kind: str  # "relation" | "limit" | "experiment" | "unreadable"
    relation: str  # eq le ge lt gt approx const limit experiment unreadable
    lhs: Any = None
    rhs: Any = None
    wrt: tuple = ()
    var: Any = None
    point: Any = None
    direction: str = "+-"
    run: Callable | None = None
    claim: str = ""
    hint: str | None = None
    expect: str | None = None
    note: str = ""
    correction_of: int | None = None  # index of the refuted step this one corrects
    domain: Mapping | None = None
    timeout: float | None = None
    certificate: Any = None  # for ≤/≥: an expression equal to the gap, nonnegative by a lemma

    @property
    def label(self) -> str:
        where = f"line {self.line}" if self.line is not None else "no line"
        return f"step {self.index} ({where}{', corrected' if self.correction_of else ''})"


class Derivation:
    """A named chain of steps from one source document."""

    def __init__(self, id: str, title: str = "", *, source: str | None = None,
                 domain: Mapping | None = None, params: Iterable[sp.Symbol] = (),
                 timeout: float | None = None):
        self.id = id
        self.title = title
        self.source = source
        self.domain = dict(domain or {})
        self.params = tuple(params)
        self.timeout = timeout
        self.steps: list[Step] = []
        self.current: Any = None
        self.start_line: int | None = None
        self.order = next(_counter)
        self.position = 0
        self.notes: tuple[str, ...] = ()  # how the source was read (documents), said once per file
        # the module that made it: a derivation module may import another one for its
        # definitions, and the loader must not count the imported module's derivations twice
        self.module = sys._getframe(1).f_globals.get("__name__")
        _created.append(self)

    def __repr__(self) -> str:
        return f"Derivation({self.id!r}, {len(self.steps)} steps)"

    # -- the chain ---------------------------------------------------------------------------
    def start(self, line: int | None, expr) -> "Derivation":
        """Begin (or restart) the chain at `expr`, written at `line`."""
        self.current = sp.sympify(expr)
        self.start_line = line
        return self

    def eq(self, line, expr, **options) -> "Derivation":
        return self._relate("eq", line, expr, options)

    def le(self, line, expr, **options) -> "Derivation":
        return self._relate("le", line, expr, options)

    def ge(self, line, expr, **options) -> "Derivation":
        return self._relate("ge", line, expr, options)

    def lt(self, line, expr, **options) -> "Derivation":
        return self._relate("lt", line, expr, options)

    def gt(self, line, expr, **options) -> "Derivation":
        return self._relate("gt", line, expr, options)

    def approx(self, line, expr, **options) -> "Derivation":
        """`previous ≈ expr`: an approximation, reported (how close the sides are), never refuted."""
        return self._relate("approx", line, expr, options)

    def const(self, line, expr, wrt: Iterable[sp.Symbol] | None = None, **options) -> "Derivation":
        """`previous = expr + c` with c constant in `wrt` (default: the derivation's params).

        This is the document's "= c + ..." and its argmax/argmin equivalences.
        """
        wrt = tuple(wrt) if wrt is not None else self.params
        return self._relate("const", line, expr, options, wrt=wrt)

    def claim(self, line, lhs, relation: str, rhs, **options) -> "Derivation":
        """A stand-alone claim `lhs relation rhs` (prose, or a line outside any chain)."""
        self.start(line, lhs)
        if relation == "const":
            return self.const(line, rhs, **options)
        return self._relate(relation, line, rhs, options)

    def limit(self, line, var, point, value, direction: str = "+-", **options) -> "Derivation":
        """lim_{var -> point} of the current expression equals `value`; the chain goes on at it."""
        self._require_current("limit")
        expect, note, corrected, extra = self._options(options)
        self._add(Step(index=0, line=line, kind="limit", relation="limit", lhs=self.current,
                       rhs=sp.sympify(value), var=var, point=sp.sympify(point), direction=direction,
                       expect=expect, note=note, **extra))
        if corrected is not None:
            self._add(Step(index=0, line=line, kind="limit", relation="limit", lhs=self.current,
                           rhs=sp.sympify(corrected), var=var, point=sp.sympify(point),
                           direction=direction, correction_of=self.steps[-1].index, **extra))
        self.current = sp.sympify(value)
        return self

    def experiment(self, line, claim: str, run: Callable, **options) -> "Derivation":
        """A claim supported by running something (an optimiser, a simulation): numeric at best."""
        expect, note, corrected, extra = self._options(options)
        if corrected is not None:
            raise TypeError("an experiment has no corrected right-hand side")
        self._add(Step(index=0, line=line, kind="experiment", relation="experiment", run=run,
                       claim=claim, expect=expect, note=note, **extra))
        return self

    def unreadable(self, line, text: str, reason: str) -> "Derivation":
        """An expression of the source that could not be read (its text and why): an `error` step.
        The chain restarts at the next expression that can be read."""
        self._add(Step(index=0, line=line, kind="unreadable", relation="unreadable", claim=text,
                       note=reason))
        self.current = None
        return self

    # -- plumbing ----------------------------------------------------------------------------
    def _relate(self, relation, line, expr, options, wrt=()) -> "Derivation":
        self._require_current(relation)
        expect, note, corrected, extra = self._options(options)
        rhs = sp.sympify(expr)
        self._add(Step(index=0, line=line, kind="relation", relation=relation, lhs=self.current,
                       rhs=rhs, wrt=wrt, expect=expect, note=note, **extra))
        if corrected is not None:
            self._add(Step(index=0, line=line, kind="relation", relation=relation, lhs=self.current,
                           rhs=sp.sympify(corrected), wrt=wrt, correction_of=self.steps[-1].index,
                           note=f"corrected step {self.steps[-1].index}", **extra))
        self.current = rhs  # the chain goes on from what the document wrote
        return self

    def _options(self, options: dict):
        options = dict(options)
        expect = options.pop("expect", None)
        note = options.pop("note", "")
        corrected = options.pop("corrected", None)
        extra = {k: options.pop(k) for k in ("hint", "domain", "timeout", "certificate") if k in options}
        if options:
            raise TypeError(f"unknown step option(s): {', '.join(options)}")
        if expect not in EXPECTATIONS:
            raise ValueError(f"expect must be one of {EXPECTATIONS}, not {expect!r}")
        if expect == "refuted" and not note:
            raise ValueError("an expected refutation needs a note saying what is wrong")
        return expect, note, corrected, extra

    def _require_current(self, what: str) -> None:
        if self.current is None:
            raise ValueError(f"{self.id}: a {what} step needs a previous expression; call start() first")

    def _add(self, step: Step) -> None:
        self.steps.append(replace(step, index=len(self.steps) + 1))
