"""`deriv extract DOC`: the derivation module a document parses into, to refine by hand.

The module rebuilds exactly the derivations `deriv verify DOC` checks (same expressions,
relations and lines; unreadable lines stay `unreadable` steps), with each document line as a
comment above its step. Symbols are declared with their assumptions, tables of discrete
variables with `deriv.prob`, and the expressions are printed as sympy code (exact rationals
as `S(1)/2`), so `deriv verify` gives the module the same verdicts as the document.
"""
from __future__ import annotations

import keyword
import re
from pathlib import Path

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.str import StrPrinter

from . import prob
from .document import Reading, read
from .model import Derivation, Step

HELP = """\
Write the derivation module (Python) that a Markdown/LaTeX document parses into: one derivation
per display-math block, each step with the document line it was read from as a comment. Start
from it to refine an encoding by hand (add hints, expected refutations, corrections).

  deriv extract post.md -o derivations/post.py
  deriv verify derivations/post.py     # the same verdicts as: deriv verify post.md
"""

CONSTANTS = ("E", "I", "S", "oo", "pi", "zoo", "nan", "sqrt")  # sqrt: how x**(1/2) prints
OPERATOR_CLASSES = (sp.Add, sp.Mul, sp.Pow, sp.Symbol, sp.Number, sp.Tuple, sp.NumberSymbol,
                    sp.core.numbers.ImaginaryUnit, sp.Dummy)
RESERVED = {"sp", "prob", "Derivation", "d", "DOC"}


class ModulePrinter(StrPrinter):
    """sympy's str printer with the module's names for symbols and tables, and prob's operators
    qualified (`prob.E` is not Euler's `E`)."""

    def __init__(self, names: dict):
        super().__init__({"sympy_integers": True})
        self.names = names

    def _print_Symbol(self, symbol):
        return self.names[symbol]

    _print_Dummy = _print_Symbol

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and not expr.base.is_Number:  # x**2, not x**S(2)
            return f"{self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE['Pow'])}**{expr.exp}"
        return super()._print_Pow(expr, rational)

    def _print_Function(self, expr):
        table = prob.table_of(expr)
        if table is not None:
            return f"{self.names[table]}({self.stringify(expr.args[:1 + len(table.given)], ', ')})"
        if isinstance(expr, AppliedUndef):
            return f"{self.names[expr.func]}({self.stringify(expr.args, ', ')})"
        if isinstance(expr, prob.OPERATORS):
            return f"prob.{type(expr).__name__}({self.stringify(expr.args, ', ')})"
        return super()._print_Function(expr)


def extract(path: str | Path) -> str:
    """The source of a derivation module equivalent to the document at `path`."""
    reading = read(path)
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    expressions = [e for d in reading.derivations for s in d.steps for e in _expressions(s)]
    declared = [s for d in reading.derivations for s in (*d.domain, *d.params) if isinstance(s, sp.Symbol)]
    symbols = sorted({s for e in expressions for s in e.atoms(sp.Symbol)} | set(declared),
                     key=lambda s: (s.name, str(s.assumptions0)))
    tables = {id(t): t for e in expressions for t in prob.tables_in(e)}.values()
    functions = sorted({f.func for e in expressions for f in e.atoms(AppliedUndef) if prob.table_of(f) is None},
                       key=lambda f: f.__name__)
    heads = sorted({type(node).__name__ for e in expressions for node in sp.preorder_traversal(e)
                    if _is_head(node)})
    names = _python_names(symbols, tables, functions, set(heads) | set(CONSTANTS))
    printer = ModulePrinter(names)
    out = [_docstring(reading), "import sympy as sp",
           f"from sympy import {', '.join(sorted(set(heads) | set(CONSTANTS)))}", "",
           "from deriv import Derivation, prob", "", f"DOC = {Path(path).name!r}"]
    out += _declarations(symbols, tables, functions, names)
    for derivation in reading.derivations:
        out += [""] + _derivation(derivation, lines, printer)
    return "\n".join(out) + "\n"


def _expressions(step: Step) -> list[sp.Basic]:
    return [e for e in (step.lhs, step.rhs, step.var, step.point) if isinstance(e, sp.Basic)]


def _is_head(node) -> bool:
    if isinstance(node, OPERATOR_CLASSES) or isinstance(node, AppliedUndef):
        return False
    if isinstance(node, prob.OPERATORS) or not isinstance(node, sp.Basic):
        return False
    return hasattr(sp, type(node).__name__)


def _python_names(symbols, tables, functions, taken: set) -> dict:
    """A Python name for every symbol, table and undefined function: its own where that is a
    free identifier."""
    names, used = {}, set(taken) | RESERVED

    def fresh(name: str) -> str:
        base = re.sub(r"\W", "_", name).strip("_") or "s"
        base = base if base.isidentifier() and not keyword.iskeyword(base) else f"s_{base}"
        candidate, n = base, 1
        while candidate in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        return candidate

    for table in tables:
        names[table] = fresh(table.name)
    for function in functions:
        names[function] = fresh(function.__name__)
    for symbol in symbols:
        names[symbol] = fresh(symbol.name)
    return names


def _declarations(symbols, tables, functions, names) -> list[str]:
    variables = {s for s in symbols if s in prob._VARS}
    sizes = {prob.size_of(v): v for v in variables}
    out = [""]
    for symbol in symbols:
        name = names[symbol]
        if symbol in variables:
            out.append(f"{name} = prob.variables({symbol.name!r})[0]")
        elif symbol in sizes:
            continue
        else:
            flags = getattr(symbol, "_assumptions_orig", None) or {}
            args = "".join(f", {k}={v}" for k, v in sorted(flags.items()))
            out.append(f"{name} = sp.Symbol({symbol.name!r}{args})")
    for size, variable in sorted(sizes.items(), key=lambda kv: kv[0].name):
        if size in names:
            out.append(f"{names[size]} = prob.size_of({names[variable]})")
    for function in functions:
        out.append(f"{names[function]} = sp.Function({function.__name__!r})")
    for table in tables:
        given = ", ".join(names[g] for g in table.given)
        options = (f", given=({given},)" if table.given else "") + (", data=True" if table.data else "")
        out.append(f"{names[table]} = prob.Table({table.name!r}, {names[table.over]}{options})")
    return out + [""]


def _docstring(reading: Reading) -> str:
    notes = "\n".join(reading.notes())
    return (f'"""Derivations of {reading.path.name}, extracted by `deriv extract`.\n\n{notes}\n\n'
            "Each step is preceded by the document line it was read from. Refine by hand: add a\n"
            "hint, mark a real mistake `expect=\"refuted\"` with its note and correction, replace an\n"
            'unreadable step by the expression meant.\n"""')


def _derivation(derivation: Derivation, lines: list[str], printer: ModulePrinter) -> list[str]:
    p = printer.doprint
    domain = ", ".join(f"{printer.doprint(k)}: ({lo!r}, {hi!r})" for k, (lo, hi) in derivation.domain.items())
    params = ", ".join(printer.doprint(s) for s in derivation.params)
    out = [f"d = Derivation({derivation.id!r}, {derivation.title!r}, source=DOC,",
           f"               domain={{{domain}}}, params=[{params}])"]
    shown, current = set(), None
    for step in derivation.steps:
        if step.line not in shown and step.line is not None and 0 < step.line <= len(lines):
            shown.add(step.line)
            out.append(f"# {step.line}: {lines[step.line - 1].strip()}")
        if step.kind == "unreadable":
            out.append(f"d.unreadable({step.line}, {step.claim!r}, {step.note!r})")
            current = None
            continue
        if current is None or step.lhs != current:
            out.append(f"d.start({step.line}, {p(step.lhs)})")
        if step.kind == "limit":
            out.append(f"d.limit({step.line}, {p(step.var)}, {p(step.point)}, {p(step.rhs)}, "
                       f"direction={step.direction!r})")
        else:
            out.append(f"d.{step.relation}({step.line}, {p(step.rhs)})")
        current = step.rhs
    return out


def add_arguments(parser) -> None:
    parser.add_argument("document", metavar="DOC", help="a Markdown (.md, .txt) or LaTeX (.tex) document")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the module to FILE (default: print it)")


def main(args) -> int:
    from rich.console import Console

    from .document import DocumentError

    errors = Console(stderr=True, highlight=False)
    try:
        source = extract(args.document)
    except (DocumentError, FileNotFoundError) as exc:
        errors.print(f"deriv extract: {exc}")
        return 2
    if args.output:
        Path(args.output).write_text(source, encoding="utf-8")
        errors.print(f"wrote {args.output}")
    else:
        print(source, end="")
    return 0
