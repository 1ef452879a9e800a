"""Derivations read straight from a Markdown or LaTeX document.

Every display-math block (`$$ … $$`, `\\[ … \\]`, and `equation`/`align`/`gather`/`multline`
environments, starred or not, with `aligned`/`split` inside) is a chain. Rows are split on
top-level `\\\\`, alignment `&` is dropped, and each row is split on its top-level relation
symbols (`=`, `\\le`, `\\ge`, `<`, `>`, `\\approx` and their spellings):

    A &= B \\\\        ->  A = B, B = C, C ≤ D
      &= C \\\\
      &\\le D

A row that starts with a relation goes on from the previous expression; a row with its own
left side starts a new chain. `\\lim_{x \\to a} g = v` is a limit step. An undeclared `c` (`C`,
`const`) added to a side is the document's "= c + …": the step is deriv's `const` (equal up to a
term constant in the declared `params`, or in the model tables for a step over distributions). A step's line is the
document line where its right-hand side begins. An expression that cannot be read becomes an
`error` step quoting the LaTeX and the parser's complaint; the chain goes on from the next
expression that can be read. Blocks and rows without a relation are skipped and counted.

What the symbols mean comes from the document's YAML front matter, under a `deriv:` key, or
from a sidecar `DOC.deriv.yaml` (see `Declarations`). Nothing in a document is executed:
LaTeX goes through `deriv.latex`, declarations through sympy's parser without `eval`.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import sympy as sp

from . import model
from .model import Derivation

DOCUMENT_SUFFIXES = (".md", ".markdown", ".tex", ".txt")
SIDECAR_SUFFIX = ".deriv.yaml"

# relation spellings -> deriv relation names ("approx" is reported, never refuted)
RELATIONS = {"=": "eq", "<": "lt", ">": "gt", r"\lt": "lt", r"\gt": "gt",
             r"\le": "le", r"\leq": "le", r"\leqslant": "le", r"\ge": "ge", r"\geq": "ge",
             r"\geqslant": "ge", r"\approx": "approx", r"\equiv": "eq"}
# relations deriv does not check: a row holding one is skipped with the reason
UNCHECKED = {r"\ne": "≠", r"\neq": "≠", r"\propto": "∝", r"\sim": "∼", r"\in": "∈",
             r"\subset": "⊂", r"\to": "→", r"\mapsto": "↦", r"\coloneqq": ":=", r"\triangleq": "≜",
             r"\gg": "≫", r"\ll": "≪", r"\simeq": "≃", r"\cong": "≅"}
MATH_ENVIRONMENTS = ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "math")
INNER_ENVIRONMENTS = ("aligned", "split", "gathered", "alignedat")
DROPPED_COMMANDS = (r"\nonumber", r"\notag")
DROPPED_WITH_ARGUMENT = (r"\label", r"\tag")


class DocumentError(ValueError):
    """A document or its declarations cannot be read (the message names the file and line)."""


# -- the text: positions and lines ----------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """A stretch of a document's text, with the document line of each of its characters."""

    text: str
    lines: tuple[int, ...]

    def line_at(self, index: int) -> int:
        """The line of the first non-blank character at or after `index` (else the last one)."""
        for i in range(index, len(self.text)):
            if not self.text[i].isspace():
                return self.lines[i]
        return self.lines[-1] if self.lines else 0

    def cut(self, start: int, end: int) -> "Piece":
        return Piece(self.text[start:end], self.lines[start:end])


def piece_of(text: str, first_line: int = 1) -> Piece:
    lines, line = [], first_line
    for ch in text:
        lines.append(line)
        if ch == "\n":
            line += 1
    return Piece(text, tuple(lines))


# -- display-math blocks ---------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    start: int   # line of the opening delimiter
    end: int     # line of the closing delimiter
    body: Piece  # the math inside the delimiters and the outer environment


_FENCE = re.compile(r"^\s*(```|~~~)")
_OPEN = re.compile(r"\$\$|\\\[|\\begin\{(" + "|".join(MATH_ENVIRONMENTS) + r")\*?\}")


def display_blocks(document: Piece) -> Iterator[Block]:
    """The display-math blocks of a document, outside fenced code, in order."""
    text = _blank_code(document.text)
    position = 0
    while True:
        found = _OPEN.search(text, position)
        if not found:
            return
        if found.start() > 0 and text[found.start() - 1] == "\\" and found.group(0) != "$$":
            position = found.end()
            continue
        opening = found.group(0)
        if opening == "$$":
            closing = "$$"
        elif opening == r"\[":
            closing = r"\]"
        else:
            closing = opening.replace(r"\begin", r"\end")
        stop = text.find(closing, found.end())
        if stop < 0:
            return
        body = document.cut(found.end(), stop)
        yield Block(document.lines[found.start()], document.lines[min(stop, len(text) - 1)],
                    _strip_environment(body))
        position = stop + len(closing)


def _blank_comments(text: str) -> str:
    """LaTeX `% comments` replaced by spaces (positions kept); `\\%` is a percent sign."""
    return re.sub(r"(?<!\\)%[^\n]*", lambda found: " " * len(found.group(0)), text)


def _blank_code(text: str) -> str:
    """The text with fenced code blocks replaced by spaces (positions kept)."""
    out, fenced = [], None
    for line in text.splitlines(keepends=True):
        marker = _FENCE.match(line)
        if fenced is None and marker:
            fenced = marker.group(1)
            out.append(re.sub(r"[^\n]", " ", line))
        elif fenced is not None:
            if marker and marker.group(1) == fenced:
                fenced = None
            out.append(re.sub(r"[^\n]", " ", line))
        else:
            out.append(line)
    return "".join(out)


_ENVIRONMENT = re.compile(r"^\s*\\begin\{(" + "|".join(MATH_ENVIRONMENTS + INNER_ENVIRONMENTS)
                          + r")\*?\}(\{[^}]*\})?")


def _strip_environment(body: Piece) -> Piece:
    """`\\begin{align} … \\end{align}` (and equation, aligned, …) around a whole block: the inside."""
    while True:
        found = _ENVIRONMENT.match(body.text)
        if not found:
            return body
        closing = rf"\end{{{found.group(1)}"
        stop = body.text.rfind(closing)
        brace = body.text.find("}", stop) if stop >= 0 else -1
        if brace < 0 or body.text[brace + 1:].strip():  # not closed last: not around the whole block
            return body
        body = body.cut(found.end(), stop)


# -- rows and relations ----------------------------------------------------------------------

_TOKEN = re.compile(r"\\[a-zA-Z]+\*?|\\.|[{}&<>=()]|\n|[^\\{}&<>=()\n]+")


def _tokens(text: str) -> Iterator[tuple[int, str]]:
    for found in _TOKEN.finditer(text):
        yield found.start(), found.group(0)


def split_rows(body: Piece) -> list[Piece]:
    """The rows of a block: split on `\\\\` at the top level (not inside braces or an inner
    environment such as `aligned`, whose rows are one expression)."""
    rows, depth, start = [], 0, 0
    for index, token in _tokens(body.text):
        if token == "{" or token.startswith(r"\begin"):
            depth += 1
        elif token == "}" or token.startswith(r"\end"):
            depth -= 1
        elif token == "\\\\" and depth == 0:
            rows.append(body.cut(start, index))
            start = index + 2
    rows.append(body.cut(start, len(body.text)))
    return [row for row in rows if row.text.strip()]


@dataclass(frozen=True)
class Part:
    """A row cut at its top-level relations: `relation` is the one written before `expr`
    (None for the row's first expression)."""

    relation: str | None
    spelling: str | None
    expr: Piece


def split_relations(row: Piece) -> list[Part]:
    """`A &= B \\le C` -> [(None, A), ("eq", B), ("le", C)]; alignment `&` becomes a space."""
    text = row.text
    for command in DROPPED_COMMANDS:
        text = text.replace(command, " " * len(command))
    text = _blank_arguments(text, DROPPED_WITH_ARGUMENT)
    row = Piece(text.replace("&", " "), row.lines)
    parts, depth, parens, start, relation, spelling = [], 0, 0, 0, None, None
    tokens = list(_tokens(row.text))
    for position, (index, token) in enumerate(tokens):
        if token == "{" or token.startswith(r"\begin") or token == r"\left":
            depth += 1
        elif token == "}" or token.startswith(r"\end") or token == r"\right":
            depth -= 1
        elif token in "()":  # q(y=x|x): not a relation of the row (unbalanced ")" are ignored)
            parens = parens + 1 if token == "(" else max(0, parens - 1)
        elif depth == 0 and parens == 0 and (token in RELATIONS or token in UNCHECKED):
            if token == "=" and position + 1 < len(tokens) and tokens[position + 1][1] == "=":
                continue
            parts.append(Part(relation, spelling, row.cut(start, index)))
            relation, spelling = RELATIONS.get(token, "unchecked"), token
            start = index + len(token)
    parts.append(Part(relation, spelling, row.cut(start, len(row.text))))
    return parts


def _blank_arguments(text: str, commands: tuple[str, ...]) -> str:
    """`\\label{eq:1}` -> spaces (positions kept)."""
    for command in commands:
        while (at := text.find(command + "{")) >= 0:
            end = _matching_brace(text, at + len(command))
            text = text[:at] + " " * (end + 1 - at) + text[end + 1:]
    return text


def _matching_brace(text: str, opening: int) -> int:
    depth = 0
    for i in range(opening, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


# -- declarations ----------------------------------------------------------------------------

DECLARATION_KEYS = ("symbols", "domain", "define", "params", "discrete", "data", "integrals", "skip",
                    "claims", "sections")
SECTION_KEYS = ("symbols", "domain", "define", "params", "discrete", "data", "integrals")
ASSUMPTIONS = ("real", "positive", "negative", "nonnegative", "nonpositive", "integer", "complex")


@dataclass
class Declarations:
    """What a document means by its symbols (YAML under `deriv:`):

        symbols: {x: real, p: positive}        # sympy assumptions ("complex" for none)
        domain: {x: [-4, 4], p: [0.01, 0.99]}  # sampling ranges
        define: {"s(x)": "1/(1 + exp(-x))"}    # functions and constants, as expressions
        params: [m]                            # model parameters, for "= c + …" steps
        discrete: {x: 3, z: 2}                 # finite discrete variables and support sizes
        data: [p_emp]                          # tables that are data (`*_data` always are)
        integrals: {x: [0, 1]}                 # limits of integrals written without them
        skip: {55: "argmax is not an expression"}   # lines not to check, with the reason
        claims: [{line: 82, latex: "\\\\lim_{m \\\\to 0} g(m) = 0"}]  # claims made in prose
        sections:                              # other meanings in part of the document:
          - {lines: [85, 110], discrete: {x: 3}}   # blocks starting in lines 85-110
    """

    source: str = ""
    symbols: dict[str, sp.Expr] = field(default_factory=dict)  # declared symbols; defined constants
    domain: dict[str, tuple[float, float]] = field(default_factory=dict)
    functions: dict[str, sp.Lambda] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    discrete: dict[str, int] = field(default_factory=dict)
    data: tuple[str, ...] = ()
    integrals: dict[str, tuple] = field(default_factory=dict)
    skip: dict[int, str] = field(default_factory=dict)
    claims: list[tuple[int, str]] = field(default_factory=list)
    sections: list[tuple[int, int, "Declarations"]] = field(default_factory=list)

    def at(self, line: int) -> "Declarations":
        """The declarations in force for a block starting at `line` (the narrowest section)."""
        holding = [(last - first, d) for first, last, d in self.sections if first <= line <= last]
        return min(holding, key=lambda pair: pair[0])[1] if holding else self

    @property
    def e_is_symbol(self) -> bool:
        return "e" in self.symbols


def front_matter(text: str) -> tuple[str, int]:
    """The YAML between a leading `---` line and the next `---` (or `...`) line, and the number
    of lines it takes (0 when there is none)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return "", 0
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "\n".join(lines[1:number]), number + 1
    return "", 0


def sidecar_for(path: Path) -> Path | None:
    """`post.deriv.yaml` (or `post.md.deriv.yaml`) beside the document, else one shipped in the
    bundled derivations for a document of that name."""
    candidates = [path.with_name(path.stem + SIDECAR_SUFFIX), path.with_name(path.name + SIDECAR_SUFFIX)]
    try:
        from .runner import bundled_path
        candidates.append(bundled_path() / (path.stem + SIDECAR_SUFFIX))
    except FileNotFoundError:
        pass
    return next((c for c in candidates if c.is_file()), None)


def read_declarations(path: Path, text: str) -> Declarations:
    """The declarations of a document: its front matter's `deriv:` key, then its sidecar's (a
    key given in both is taken from the sidecar)."""
    import yaml

    merged: dict[str, Any] = {}
    sources = []
    matter, _ = front_matter(text)
    places = [(f"{path} (front matter)", matter)]
    sidecar = sidecar_for(path)
    if sidecar is not None:
        places.append((str(sidecar), sidecar.read_text(encoding="utf-8")))
    for where, yaml_text in places:
        if not yaml_text.strip():
            continue
        try:
            data = yaml.safe_load(yaml_text)
        except yaml.YAMLError as exc:
            raise DocumentError(f"{where}: the YAML cannot be read: {exc}") from None
        section = data.get("deriv") if isinstance(data, dict) else None
        if section is None:
            continue
        if not isinstance(section, dict):
            raise DocumentError(f"{where}: `deriv:` must be a mapping of {', '.join(DECLARATION_KEYS)}")
        unknown = sorted(set(section) - set(DECLARATION_KEYS))
        if unknown:
            raise DocumentError(f"{where}: unknown key(s) under deriv: {', '.join(unknown)} "
                                f"(known: {', '.join(DECLARATION_KEYS)})")
        merged.update(section)
        sources.append(where)
    try:
        return _declarations(merged, " and ".join(sources))
    except (ValueError, TypeError) as exc:
        raise DocumentError(f"{' and '.join(sources) or path}: {exc}") from None


def _declarations(data: dict, source: str) -> Declarations:
    from .parse import parse

    decl = Declarations(source=source)
    for name, kinds in (data.get("symbols") or {}).items():
        decl.symbols[str(name)] = sp.Symbol(str(name), **_assumptions(str(name), kinds))
    for name, interval in (data.get("domain") or {}).items():
        if not (isinstance(interval, (list, tuple)) and len(interval) == 2):
            raise ValueError(f"domain of {name}: expected [low, high], got {interval!r}")
        decl.domain[str(name)] = (float(interval[0]), float(interval[1]))
    for name, size in (data.get("discrete") or {}).items():
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"discrete {name}: the support size must be a positive integer, got {size!r}")
        decl.discrete[str(name)] = size
    for name, interval in (data.get("integrals") or {}).items():
        if not (isinstance(interval, (list, tuple)) and len(interval) == 2):
            raise ValueError(f"integrals: limits of {name} must be [a, b], got {interval!r}")
        decl.integrals[str(name)] = tuple(parse(str(v), decl.symbols) for v in interval)
    decl.params = tuple(str(p) for p in (data.get("params") or ()))
    decl.data = tuple(str(p) for p in (data.get("data") or ()))
    for head, body in (data.get("define") or {}).items():
        name, args = _signature(str(head))
        arguments = [decl.symbols.setdefault(a, sp.Symbol(a, real=True)) for a in args]
        try:
            value = parse(str(body), decl.symbols)
        except ValueError as exc:
            raise ValueError(f"define {head}: {exc}") from None
        if arguments:
            decl.functions[name] = sp.Lambda(tuple(arguments), value)
        else:  # a named constant: the name reads as its value
            decl.symbols[name] = value
    for line, reason in (data.get("skip") or {}).items():
        decl.skip[int(line)] = str(reason)
    for section in data.get("sections") or ():
        if not (isinstance(section, dict) and isinstance(section.get("lines"), list)
                and len(section["lines"]) == 2):
            raise ValueError(f"sections: each section needs `lines: [first, last]`, got {section!r}")
        unknown = sorted(set(section) - set(SECTION_KEYS) - {"lines"})
        if unknown:
            raise ValueError(f"sections: unknown key(s) {', '.join(unknown)} (known: {', '.join(SECTION_KEYS)})")
        merged = {k: data.get(k) for k in SECTION_KEYS}
        for key in SECTION_KEYS:
            if key in section:
                value = section[key]
                merged[key] = {**(merged[key] or {}), **value} if isinstance(value, dict) else value
        first, last = map(int, section["lines"])
        decl.sections.append((first, last, _declarations(merged, source)))
    for claim in data.get("claims") or ():
        if not (isinstance(claim, dict) and {"line", "latex"} <= set(claim)):
            raise ValueError(f"claims: each claim needs `line` and `latex`, got {claim!r}")
        decl.claims.append((int(claim["line"]), str(claim["latex"])))
    return decl


def _assumptions(name: str, kinds) -> dict:
    words = kinds if isinstance(kinds, (list, tuple)) else re.split(r"[,\s]+", str(kinds or "real"))
    flags = {}
    for word in filter(None, words):
        if word not in ASSUMPTIONS:
            raise ValueError(f"symbol {name}: unknown assumption {word!r} (known: {', '.join(ASSUMPTIONS)})")
        if word != "complex":
            flags[word] = True
    return flags


def _signature(head: str) -> tuple[str, list[str]]:
    """'s(x)' -> ('s', ['x']); 'c' -> ('c', [])."""
    found = re.fullmatch(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:\(([^)]*)\))?\s*", head)
    if not found:
        raise ValueError(f"define: {head!r} is not a name or a call such as s(x)")
    args = [a.strip() for a in (found.group(2) or "").split(",") if a.strip()]
    return found.group(1), args


# -- from a document to derivations ----------------------------------------------------------

@dataclass
class Reading:
    """What was read from one document, and what was not."""

    path: Path
    derivations: list[Derivation] = field(default_factory=list)
    declarations: Declarations = field(default_factory=Declarations)
    blocks: int = 0
    prose: int = 0  # non-blank lines outside display math (front matter and code excluded)
    rows: int = 0
    steps: int = 0
    unreadable: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    undeclared: list[str] = field(default_factory=list)
    headings: list[int] = field(default_factory=list)  # lines of the document's section headings
    definitions: dict[int, dict] = field(default_factory=dict)  # per heading section: name -> value

    def definitions_at(self, line: int) -> dict:
        """The names defined so far in the section (between two headings) holding `line`."""
        return self.definitions.setdefault(bisect.bisect_right(self.headings, line), {})

    def notes(self) -> list[str]:
        """What the report says once for the document."""
        out = [f"{self.path.name}: {self.blocks} display-math block(s), {self.rows} row(s): "
               f"{self.steps} step(s), {self.unreadable} unreadable, {len(self.skipped)} skipped; "
               f"{self.prose} line(s) of prose"]
        if self.declarations.source:
            out.append(f"declarations from {self.declarations.source}")
        if self.undeclared:
            out.append(f"undeclared symbol(s) {', '.join(self.undeclared)}: taken as real, sampled in "
                       f"(-5, 5) (declare them under `deriv: symbols/domain`)")
        return out


def read(path: str | Path) -> Reading:
    """Every display-math chain of a document (and the claims of its declarations) as derivations.
    Raises DocumentError when the document or its declarations cannot be read at all."""
    from . import latex

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: cannot be read: {exc}") from None
    declarations = read_declarations(path, text)
    _, matter_lines = front_matter(text)
    document = piece_of(_blank_comments(text) if path.suffix.lower() == ".tex" else text)
    if matter_lines:  # blank the front matter, keeping line numbers
        end = text.index("\n", sum(len(line) + 1 for line in text.split("\n")[:matter_lines - 1]))
        document = Piece(re.sub(r"[^\n]", " ", text[:end]) + text[end:], document.lines)
    contexts: dict[int, Any] = {}

    def context_at(line: int):
        """The parsing context of the declarations in force at `line` (one per section)."""
        decl = declarations.at(line)
        if id(decl) not in contexts:
            contexts[id(decl)] = (decl, latex.Context(
                symbols=dict(decl.symbols), functions=dict(decl.functions),
                integral_limits=dict(decl.integrals), discrete=dict(decl.discrete),
                data=set(decl.data), e_is_symbol=decl.e_is_symbol))
        return contexts[id(decl)]

    reading = Reading(path, declarations=declarations, headings=_headings(text))
    before = len(model._created)
    try:
        math_lines: set[int] = set()
        for block in display_blocks(document):
            reading.blocks += 1
            math_lines.update(range(block.start, block.end + 1))
            _chain(reading, *context_at(block.start), f"{path.stem}/L{block.start}",
                   f"display math, lines {block.start}-{block.end}", split_rows(block.body))
        for line, text_of_claim in declarations.claims:
            _chain(reading, *context_at(line), f"{path.stem}/claim-L{line}", f"claim of line {line} (declared)",
                   split_rows(piece_of(text_of_claim.replace("\n", " "), line)))
    finally:
        del model._created[before:]
    reading.prose = sum(1 for number, line in enumerate(_blank_code(document.text).split("\n"), start=1)
                        if line.strip() and number not in math_lines)
    reading.undeclared = sorted({name for _, context in contexts.values() for name in context.undeclared
                                 if name not in CONSTANT_NAMES})
    for position, derivation in enumerate(reading.derivations):
        derivation.position = position
    return reading


# a row's left side that only names something: `L(m)`, `L_3`, `Z_{e,w}(x)`, `q(x)`, `\\mathcal{L}`
_NAME = re.compile(r"(\\mathcal\{)?([A-Za-z])\}?(_\{?([A-Za-z0-9,]+)\}?)?(\([A-Za-z0-9_,|{}\s]*\))?")


_HEADING = re.compile(r"^(#{1,6}\s|\\(sub)*section\*?\{|\\chapter\*?\{)")


def _headings(text: str) -> list[int]:
    """The lines of Markdown headings (`## …`) and LaTeX sectioning commands."""
    return [n for n, line in enumerate(text.split("\n"), start=1) if _HEADING.match(line)]


def _chain(reading: Reading, declarations: Declarations, context, id: str, title: str,
           rows: list[Piece]) -> None:
    """One block's rows as one derivation (kept when it has a step)."""
    symbols = context.symbols
    derivation = Derivation(id, title, source=reading.path.name,
                            domain={symbols.setdefault(name, sp.Symbol(name, real=True)): interval
                                    for name, interval in declarations.domain.items()},
                            params=[symbols.setdefault(name, sp.Symbol(name, real=True))
                                    for name in declarations.params])
    chain = _ChainReader(reading, context, derivation,
                         reading.definitions_at(rows[0].line_at(0)) if rows else {})
    reading.rows += len(rows)
    rows = _join_continued(rows)
    for position, row in enumerate(rows):
        parts = split_relations(row)
        if len(parts) == 1:
            following = split_relations(rows[position + 1]) if position + 1 < len(rows) else []
            if len(following) > 1 and not following[0].expr.text.strip():
                chain.read(None, parts[0].expr)  # `A \\ &= B`: A heads the chain
            elif parts[0].expr.text.strip():
                reading.skipped.append((parts[0].expr.line_at(0), "no relation"))
            continue
        head, rest = parts[0].expr, parts[1:]
        if head.text.strip():  # a row with its own left side starts a new chain
            if rest[0].relation == "eq" and chain.defines(head, rest[0].expr):
                rest = rest[1:]
            else:
                chain.read(None, head)
        for part in rest:
            chain.read(part.relation, part.expr, part.spelling)
    if derivation.steps:
        reading.derivations.append(derivation)
        reading.steps += sum(1 for s in derivation.steps if s.kind != "unreadable")
        reading.unreadable += sum(1 for s in derivation.steps if s.kind == "unreadable")


def _join_continued(rows: list[Piece]) -> list[Piece]:
    """A row without a relation that starts with + or − continues the row before it (an
    expression broken over two rows: `&= c + A \\\\ &- B`)."""
    joined: list[Piece] = []
    for row in rows:
        text = row.text.replace("&", " ").lstrip()
        if joined and text[:1] in "+-" and len(split_relations(row)) == 1:
            previous = joined.pop()
            joined.append(Piece(previous.text + " " + row.text.replace("&", " "),
                                previous.lines + previous.lines[-1:] + row.lines))
        else:
            joined.append(row)
    return joined


class _ChainReader:
    """Reads one block's expressions into its derivation, step by step."""

    def __init__(self, reading: Reading, context, derivation: Derivation, definitions: dict):
        self.reading, self.context, self.derivation = reading, context, derivation
        self.definitions = definitions  # names defined so far in this section -> their values

    def parse(self, expr: Piece):
        """(line, text, value); value None after recording the text as unreadable."""
        from . import latex

        line, text = expr.line_at(0), " ".join(expr.text.split())
        try:
            return line, text, latex.parse(text, self.context).xreplace(self.definitions)
        except latex.LatexError as exc:
            self.derivation.unreadable(line, text, str(exc))
            return line, text, None
        except Exception as exc:  # noqa: BLE001 - a parser bug costs this line, not the document
            self.derivation.unreadable(line, text, f"the LaTeX reader failed: {type(exc).__name__}: {exc}")
            return line, text, None

    def defines(self, head: Piece, value: Piece) -> bool:
        """`L(m) = …`, `L_3 = …`, `q(x) = …` with the name undeclared: a definition, not a claim.
        No step; the name stands for its value in the rest of its section (up to the next
        heading), and the chain goes on from the value."""
        text = " ".join(head.text.split())
        found = _NAME.fullmatch(text.replace(" ", ""))
        if not found:
            return False
        name = found.group(2) + (f"_{found.group(4).replace(',', '')}" if found.group(4) else "")
        if name in self.context.symbols or name in self.context.functions:
            return False
        line = head.line_at(0)
        if line in self.reading.declarations.skip or value.line_at(0) in self.reading.declarations.skip:
            return False
        _, _, defined = self.parse(head)
        if defined is None:  # recorded as unreadable; the chain starts at the value
            self.read(None, value)
            return True
        value_line, _, meaning = self.parse(value)
        if meaning is None:
            return True
        if isinstance(defined, (sp.Symbol, sp.core.function.AppliedUndef)):
            self.definitions[defined] = meaning
        self.reading.skipped.append((line, f"definition of {text}"))
        self.derivation.start(value_line, meaning)
        return True

    def read(self, relation: str | None, expr: Piece, spelling: str | None = None) -> None:
        """Parse one expression of a row and add the step from the previous one (if any)."""
        derivation, reading = self.derivation, self.reading
        line = expr.line_at(0)
        if line in reading.declarations.skip:
            reading.skipped.append((line, reading.declarations.skip[line]))
            derivation.current = None
            return
        if relation == "unchecked":
            reading.skipped.append((line, f"relation {spelling} is not checked"))
            derivation.current = None
            return
        if not expr.text.strip():
            derivation.unreadable(line, spelling or "", "nothing after the relation")
            return
        line, text, value = self.parse(expr)
        if value is None:
            return
        if relation is None or derivation.current is None:
            derivation.start(line, value)
            return
        previous = derivation.current
        constant = _additive_constant(previous, self.context) or _additive_constant(value, self.context)
        if constant is not None and relation == "eq":
            _constant_step(derivation, line, text, previous, value, constant)
            derivation.current = value  # the chain goes on from what the document wrote
            return
        if constant is not None and relation != "approx":
            derivation.unreadable(line, text, f"an inequality with the unknown constant {constant} of "
                                              f"`{constant} + …` cannot be checked (declare {constant} "
                                              "as a symbol, or skip the line)")
            derivation.current = value
            return
        if relation == "eq" and isinstance(previous, sp.Limit):
            inner, var, point, direction = previous.args
            derivation.start(derivation.start_line, inner)
            derivation.limit(line, var, point, value, direction=_direction(str(direction)))
        else:
            getattr(derivation, relation)(line, value)


CONSTANT_NAMES = ("c", "C", "const")


def _additive_constant(expr, context) -> sp.Symbol | None:
    """The document's "c + …": an undeclared symbol c (C, const) that is a term of a sum."""
    terms = sp.Add.make_args(expr) if isinstance(expr, sp.Expr) else ()
    for term in terms:
        symbol = -term if term.could_extract_minus_sign() else term
        if isinstance(symbol, sp.Symbol) and symbol.name in CONSTANT_NAMES \
                and symbol.name in context.undeclared:
            return symbol
    return None


def _constant_step(derivation: Derivation, line: int, text: str, previous, value, constant) -> None:
    """`previous = c + value'`: equal up to a term constant in the parameters (deriv's const step).
    The constants of both sides are dropped; an identity step over distributions is constant in
    the model tables, any other needs `params` declared."""
    from . import prob

    lhs, rhs = previous.subs(constant, 0), value.subs(constant, 0)
    if not derivation.params and not prob.is_probabilistic(lhs, rhs):
        derivation.unreadable(line, text, f"`{constant} + …` means equal up to a constant in the model "
                                          "parameters: declare them under `deriv: params`")
        return
    derivation.start(derivation.start_line, lhs)
    derivation.const(line, rhs)


def _direction(sympy_direction: str) -> str:
    return {"+": "+", "-": "-"}.get(sympy_direction, "+-")


def load(path: str | Path) -> list[Derivation]:
    """The derivations of a document, for the runner (the notes ride on each derivation)."""
    reading = read(path)
    notes = tuple(reading.notes())
    for derivation in reading.derivations:
        derivation.notes = notes
    return reading.derivations


def is_document(path: Path) -> bool:
    return path.suffix.lower() in DOCUMENT_SUFFIXES
