"""`deriv annotate DOC`: the source document with every checked line marked by its verdict.

A reporter (DESIGN §2): it reads verdicts — from a run it starts, or from the JSON of an earlier
`deriv verify --json` — and never decides anything itself. Both paths go through the same
JSON-shaped data (`report.run_json`), so an annotation made from a report is the annotation the
run would have made.

Markdown output keeps every line of the document at its line number: line N of the copy is line
N of the source with marks appended, and everything deriv adds (the list of checked lines, the
steps that cite no line of the document, the footnotes) comes after the last line.

* A prose line gets ` ✓[^L61]` at its end (before a trailing hard break): a footnote reference
  works there in every renderer with footnotes (GitHub, GitLab, pandoc, markdown-it-footnote).
* A line in display math (`$$ … $$`, `\\[ … \\]`, a bare `\\begin{align}`) gets LaTeX instead,
  ` \\qquad\\text{✓}^{\\text{[61]}}`, before the row's `\\\\`, `\\end{align}` or the closing
  `$$`: a `[^61]` there would be math, not a reference, and text after a closing `$$` on the
  same line makes markdown-it-katex/texmath and VS Code's preview run the block on to the next
  `$$`. The references to those footnotes are therefore in the list of checked lines at the end
  (GitHub drops a footnote that nothing references), where each line's marks are followed by
  `[^L61]` links; the number in the LaTeX mark is the document line, which is also how every
  footnote begins (renderers renumber footnotes, so a label cannot be relied on to show).
  A row whose expression goes on past its line (a `\\left(` or `{` closed on a later line, a
  `^`, `_`, `\\frac` … whose argument is on the next line) gets its mark at its start instead,
  before its `&=`, where the mark stands at the top level of the math rather than inside a
  bracket or in place of an argument; where neither place is safe, it is only in the list.
* Lines that cannot hold a mark without changing the document's structure (blank lines, rules,
  code fences) are marked only in the list at the end; a step whose line is missing or past the
  end of the document is listed under "not placed".

The HTML page is self-contained (inline CSS): the document rendered by markdown-it-py with raw
HTML disabled (a document cannot inject markup), display math protected from Markdown and written
as escaped text in `<div class="math">` — MathJax from a CDN typesets it when scripts run, and
without scripts the LaTeX stays readable as text — each block followed by a list of its cited
lines with coloured badges that also carry the symbol, and the notes as an HTML list at the end.
"""
from __future__ import annotations

import ast
import html
import json
import re
import secrets
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .explain import SYMBOLS, evidence_lines
from .model import RELATION_SYMBOLS
from .verdict import Status, Verdict

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

HELP = """\
Write a copy of the source document DOC with every line that a step cites marked by its verdict:
✓ proved, ≈ numeric, ✗ refuted, ? unknown, ! error; each mark has a footnote with the derivation,
the step, the claim, the method and the evidence, and a refuted line's footnote gives the
counterexample and the corrected step.

The derivations are checked first (PATH: derivation modules or folders; default: the bundled
derivations), keeping those whose source is DOC's file name; --report REPORT.json annotates from
the JSON of an earlier `deriv verify --json` instead, without checking anything.

Markdown keeps every line at its line number (marks are appended; in display math they are LaTeX)
and adds the list of checked lines and the footnotes after the last line. HTML (-o *.html or
--format html) is one self-contained page: MathJax typesets the math when scripts run, and
without scripts the marks, notes and LaTeX source are plain HTML.

Exit status: 0 every cited step meets its expectation, 1 some step does not, 2 usage error
(missing document, unreadable report, no derivation citing DOC) or a module that could not be loaded.
"""

# worst first: a line cited by several steps shows the refutation before the proof
SEVERITY = {Status.REFUTED: 0, Status.ERROR: 1, Status.UNKNOWN: 2, Status.NUMERIC: 3, Status.PROVED: 4}
MEANING = {Status.PROVED: "proved", Status.NUMERIC: "numeric: sampled, no proof",
           Status.REFUTED: "refuted: confirmed counterexample", Status.UNKNOWN: "unknown: undecided",
           Status.ERROR: "error: could not be checked"}


class UsageError(Exception):
    """A problem with the command's input, reported as exit status 2."""


def add_arguments(parser) -> None:
    from .cli import add_run_options

    parser.add_argument("doc", metavar="DOC", help="the source document (Markdown with LaTeX)")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="derivation modules (.py) or folders of them; default: the bundled "
                             "derivations. Loading a module runs its code.")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write here (.html/.htm: HTML, otherwise Markdown); default: Markdown on stdout")
    parser.add_argument("--format", choices=("md", "html"), default=None,
                        help="output format (default: from the suffix of OUT, else md)")
    parser.add_argument("--report", metavar="REPORT.json",
                        help="annotate from the JSON of `deriv verify --json` instead of checking")
    add_run_options(parser)


def main(args) -> int:
    from rich.console import Console

    errors = Console(stderr=True, highlight=False)
    try:
        doc = Path(args.doc)
        text = _read_document(doc)
        if args.output and Path(args.output).resolve() == doc.resolve():
            raise UsageError(f"-o {args.output} would overwrite the document; write the copy elsewhere")
        data = _verdicts(args, errors)
        if data is None:
            return EXIT_USAGE
        annotation = Annotation.build(doc.name, text, data, keyword=args.keyword)
    except UsageError as exc:
        errors.print(f"deriv annotate: {exc}", markup=False, soft_wrap=True)
        return EXIT_USAGE
    fmt = args.format or ("html" if args.output and Path(args.output).suffix.lower() in (".html", ".htm") else "md")
    output = render_html(annotation) if fmt == "html" else render_markdown(annotation)
    if args.output:
        try:
            Path(args.output).write_text(output, encoding="utf-8")
        except OSError as exc:
            errors.print(f"deriv annotate: cannot write {args.output}: {exc}", markup=False, soft_wrap=True)
            return EXIT_USAGE
        errors.print(f"{annotation.summary_line()}; written to {args.output}", markup=False, soft_wrap=True)
    else:
        _write_stdout(output)
    for failure in annotation.load_errors:
        errors.print(f"deriv annotate: could not load {failure.get('file')}: {failure.get('message')}",
                     markup=False, soft_wrap=True)
    if annotation.load_errors:
        return EXIT_USAGE
    return EXIT_PASS if annotation.passed else EXIT_FAIL


def _read_document(doc: Path) -> str:
    try:
        return doc.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{doc}: no such document") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {doc}: {exc}") from None


def _verdicts(args, errors) -> dict | None:
    """The JSON-shaped results (report.run_json) from --report, or from checking PATHs now."""
    if args.report:
        if args.paths:
            raise UsageError("--report annotates from an earlier run; give it or PATHs to check, not both")
        try:
            with open(args.report, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read the report {args.report}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("derivations"), list):
            raise UsageError(f"{args.report} is not the JSON of `deriv verify --json` (no list of derivations)")
        return data
    from . import cli, report

    result = cli.run_checks(args, args.paths, errors)
    if result is None:
        return None
    return _plain(report.run_json(result))


def _plain(value: Any) -> Any:
    """What json.load would give back for `value`: dicts, lists, str, numbers, None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _write_stdout(text: str) -> None:
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))  # the marks are not ASCII, whatever the locale says
    buffer.flush()


# -- the marks ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    """One step's verdict at the document line where its right-hand side is written."""

    ref: str              # "61", "61-2" (second mark on line 61), "u1" (not placed)
    line: int | None
    derivation: Mapping[str, Any]
    step: Mapping[str, Any]
    verdict: Verdict

    @property
    def status(self) -> Status:
        return self.verdict.status

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.verdict.status]

    @property
    def met(self) -> bool:
        if isinstance(self.step.get("met"), bool):
            return self.step["met"]
        if self.step.get("expected") == "refuted":
            return self.status is Status.REFUTED
        return self.status in (Status.PROVED, Status.NUMERIC)

    @property
    def expected(self) -> str | None:
        return self.step.get("expected")

    def corrections(self) -> list[Mapping[str, Any]]:
        """The steps of the same derivation that correct this one (`correction_of`)."""
        return [s for s in self.derivation.get("steps", []) if s.get("correction_of") == self.step.get("index")
                and s.get("correction_of") is not None]

    def claim(self) -> str:
        relation = self.step.get("relation", "eq")
        symbol = RELATION_SYMBOLS.get(relation, relation)
        lhs, rhs = _one_line(self.step.get("lhs") or ""), _one_line(self.step.get("rhs") or "")
        if relation == "experiment":
            return rhs
        if relation == "limit":
            return f"lim {lhs} = {rhs}"
        return f"{lhs}  {symbol}  {rhs}" if lhs else f"{symbol} {rhs}"

    def status_words(self) -> str:
        words = f"{self.symbol} {self.status.value}"
        if self.expected == "refuted":
            return words + (", as expected (a mistake of the document)" if self.met
                            else " — expected refuted (the document's mistake was not confirmed)")
        if not self.met:
            return words + " — does not hold"
        return words

    def where(self) -> str:
        name = f"{self.derivation.get('id')} step {self.step.get('index')}"
        if self.step.get("correction_of") is not None:
            name += f" (corrects step {self.step['correction_of']})"
        return name

    def note_lines(self) -> list[str]:
        """The footnote's body: the claim, the method, the evidence, the correction (plain text)."""
        lines = [f"claim: {self.claim()}"]
        relation = self.step.get("relation", "eq")
        try:
            evidence = [line.strip() for line in evidence_lines(self.verdict, relation)]
        except (AttributeError, KeyError, TypeError, ValueError):  # a report of another shape
            evidence = [self.verdict.detail]
        if self.verdict.method and not any(self.verdict.method in line for line in evidence):
            lines.append(f"method: {self.verdict.method}")
        lines += evidence
        tables = self.verdict.evidence.get("tables")
        if self.status is Status.REFUTED and isinstance(tables, Mapping):
            lines += [f"{name} = {_one_line(str(_plain(rows)))}" for name, rows in tables.items()]
        if self.step.get("note") and self.step.get("correction_of") is None:
            lines.append(f"why: {self.step['note']}")
        for fix in self.corrections():
            fix_verdict = _verdict(fix)
            fix_relation = RELATION_SYMBOLS.get(fix.get("relation", "eq"), fix.get("relation", ""))
            lines.append(f"corrected (step {fix.get('index')}): {fix_relation} {_one_line(fix.get('rhs') or '')}"
                         f"  → {SYMBOLS[fix_verdict.status]} {fix_verdict.status.value}"
                         + (f" ({fix_verdict.method})" if fix_verdict.method else ""))
        return [line for line in lines if line]

    def fixes(self) -> list[tuple[str, str]]:
        """What a refuted step should have said: ("corrected", rhs) for each step correcting it,
        ("did you mean", rhs) for deriv's own suggestion when it says something else."""
        if self.status is not Status.REFUTED:
            return []
        shown = []
        for fix in self.corrections():
            relation = RELATION_SYMBOLS.get(fix.get("relation", "eq"), fix.get("relation", ""))
            shown.append(("corrected", f"{relation} {_one_line(fix.get('rhs') or '')}"))
        diagnosis = self.verdict.evidence.get("diagnosis")
        suggestion = diagnosis.get("suggestion") if isinstance(diagnosis, Mapping) else None
        if isinstance(suggestion, Mapping) and suggestion.get("rhs"):
            relation = RELATION_SYMBOLS.get(suggestion.get("relation", "eq"), "=")
            suggested = f"{relation} {_one_line(str(suggestion['rhs']))}"
            if suggested not in [rhs for _, rhs in shown]:
                shown.append(("did you mean", suggested))
        return shown


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _UnwrapMappingProxy(ast.NodeTransformer):
    def visit_Call(self, node):  # mappingproxy({...}) -> {...}
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "mappingproxy" and len(node.args) == 1:
            return node.args[0]
        return node


def _revive(value: Any) -> Any:
    """A mapping of the evidence as a mapping again. A report written while nested evidence was
    still frozen holds `str()` of it (`{'kind': …, 'suggestion': mappingproxy({…})}`); that
    text is read back with `ast.literal_eval` (data only, nothing is run), else left as it is."""
    if not isinstance(value, str) or not value.startswith(("{", "mappingproxy(")):
        return value
    try:
        parsed = ast.literal_eval(_UnwrapMappingProxy().visit(ast.parse(value, mode="eval")))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return value
    return parsed if isinstance(parsed, Mapping) else value


def _verdict(step: Mapping[str, Any]) -> Verdict:
    evidence = {k: _revive(v) for k, v in dict(step.get("evidence") or {}).items()}
    if "diagnosis" not in evidence and step.get("diagnosis") is not None:
        evidence["diagnosis"] = _revive(step["diagnosis"])
    if not isinstance(evidence.get("diagnosis", {}), Mapping):
        evidence["diagnosis"] = {"summary": str(evidence["diagnosis"])}
    try:
        return Verdict.from_dict({**step, "evidence": evidence, "method": step.get("method") or "",
                                  "detail": step.get("detail") or ""})
    except (KeyError, ValueError, TypeError) as exc:
        raise UsageError(f"a step of the report has no valid verdict ({type(exc).__name__}: {exc})") from None


@dataclass
class Annotation:
    """The document's lines, how each can hold a mark, and the marks placed on them."""

    doc_name: str
    lines: list[str]            # without line endings
    endings: list[str]          # "\n", "\r\n" or "" (the last line without a newline)
    shapes: list["LineShape"]
    placed: dict[int, list[Mark]]
    unplaced: list[Mark]
    derivations: list[Mapping[str, Any]]
    load_errors: list[Mapping[str, Any]]
    open_fence: str | None
    open_math: str | None

    @classmethod
    def build(cls, doc_name: str, text: str, data: Mapping[str, Any], keyword: str | None = None) -> "Annotation":
        lines, endings = _split_lines(text)
        found = [d for d in data.get("derivations", []) if isinstance(d, Mapping)]
        if keyword:
            needle = keyword.lower()
            found = [d for d in found if needle in str(d.get("id", "")).lower()
                     or needle in str(d.get("title", "")).lower()]
        derivations = [d for d in found if d.get("source") == doc_name]
        if not derivations:
            sources = Counter(str(d.get("source")) for d in found)
            listed = ", ".join(f"{source} ({n} derivation{'s' if n > 1 else ''})"
                               for source, n in sources.most_common()) or "none"
            raise UsageError(f"no derivation cites {doc_name} (a derivation's source must be the "
                             f"document's file name); sources found: {listed}")
        marks: dict[int, list[Mark]] = {}
        unplaced: list[Mark] = []
        for d in derivations:
            for step in [s for s in d.get("steps") or [] if isinstance(s, Mapping)]:
                line = step.get("line")
                mark = Mark("", line if isinstance(line, int) else None, d, step, _verdict(step))
                if isinstance(line, int) and 1 <= line <= len(lines):
                    marks.setdefault(line, []).append(mark)
                else:
                    unplaced.append(Mark(f"u{len(unplaced) + 1}", mark.line, d, step, mark.verdict))
        placed = {}
        for line, group in sorted(marks.items()):
            group.sort(key=lambda m: SEVERITY[m.status])  # stable: document order within a status
            placed[line] = [Mark(str(line) if k == 0 else f"{line}-{k + 1}", line, m.derivation, m.step, m.verdict)
                            for k, m in enumerate(group)]
        shapes, _, open_fence, open_math = scan(lines)
        return cls(doc_name, lines, endings, shapes, placed, unplaced, derivations,
                   [f for f in data.get("load_errors", []) if isinstance(f, Mapping)], open_fence, open_math)

    def all_marks(self) -> list[Mark]:
        return [m for group in self.placed.values() for m in group] + self.unplaced

    @property
    def passed(self) -> bool:
        return all(m.met for m in self.all_marks())

    def counts(self) -> Counter:
        return Counter(m.status for m in self.all_marks())

    def summary_line(self) -> str:
        counts = self.counts()
        steps = len(self.all_marks())
        parts = ", ".join(f"{SYMBOLS[s]} {counts[s]} {s.value}" for s in Status if counts[s])
        expected = sum(1 for m in self.all_marks() if m.expected == "refuted" and m.met)
        unmet = sum(1 for m in self.all_marks() if not m.met)
        n = len(self.derivations)
        text = (f"{'PASS' if self.passed else 'FAIL'} · {n} derivation{'s' if n != 1 else ''}, {steps} "
                f"step{'s' if steps != 1 else ''} cite{'s' if steps == 1 else ''} {self.doc_name}: {parts}")
        if expected:
            text += (f" ({expected} refuted as expected: mistake{'s' if expected > 1 else ''} "
                     "of the document)")
        if unmet:
            text += f"; {unmet} step{'s do' if unmet > 1 else ' does'} not meet {'their' if unmet > 1 else 'its'} expectation"
        return text

    def marked_in_place(self, line: int) -> bool:
        shape = self.shapes[line - 1]
        return shape.kind in ("prose", "code") or (shape.kind == "math" and shape.at is not None)


def _split_lines(text: str) -> tuple[list[str], list[str]]:
    """Lines as an editor numbers them (only \\n ends a line), and each line's ending."""
    pieces = text.split("\n")
    lines, endings = [], []
    for k, piece in enumerate(pieces):
        last = k == len(pieces) - 1
        if last and piece == "":
            break
        if piece.endswith("\r") and not last:
            lines.append(piece[:-1])
            endings.append("\r\n")
        else:
            lines.append(piece)
            endings.append("" if last else "\n")
    return lines, endings


# -- where a mark can go: the document's code fences and math --------------------------------------

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
DISPLAY_ENVS = r"(?:equation|align|alignat|gather|multline|eqnarray|flalign|displaymath)\*?"
ENV_BEGIN = re.compile(r"\s*(\\begin\{(" + DISPLAY_ENVS + r")\})")
ENV_END_AT_END = re.compile(r"\\end\{" + DISPLAY_ENVS + r"\}\s*$")
RULE = re.compile(r"^ {0,3}(?:([-*_])(?:[ \t]*\1){2,}|=+|-+)[ \t]*$")   # thematic break, setext underline
TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
# a line ending like this continues into the next one: a mark appended would become the argument
ARGUMENT_PENDING = re.compile(
    r"(?:[\^_]|\\(?:left|right|middle|[bB]igg?[lrm]?|frac|[dtc]frac|binom|sqrt|text\w*|math\w*|"
    r"operatorname\*?|hat|widehat|bar|overline|underline|tilde|widetilde|vec|dot|ddot|acute|grave|"
    r"breve|check|overset|underset|overbrace|underbrace|stackrel|color|textcolor|boxed|not|begin|end|"
    r"label|tag|pmb|boldsymbol|bm|cancel))\s*$")


@dataclass(frozen=True)
class LineShape:
    """What a line can hold: prose (a footnote reference), math (LaTeX at column `at`, or at the
    line's start when `prepend`), code (plain text), fixed (nothing: blank, rule, fence)."""

    kind: str
    at: int | None = None
    prepend: bool = False


@dataclass(frozen=True)
class MathSpan:
    """Math from (line, column) to (line, column), 0-based, end exclusive, delimiters included."""

    start: tuple[int, int]
    end: tuple[int, int]
    display: bool


def scan(lines: list[str]) -> tuple[list[LineShape], list[MathSpan], str | None, str | None]:
    """Each line's shape, the math spans (display: `$$…$$`, `\\[…\\]`, a bare display
    environment; inline: `$…$`, `\\(…\\)`), and the code fence or math delimiter that the
    document leaves open at its end. Code fences and inline code spans hold no math."""
    shapes: list[LineShape] = []
    spans: list[MathSpan] = []
    fence: str | None = None
    closer: str | None = None       # what ends the open display math: "$$", "\\]", "\\end{align}"
    opened = (0, 0)
    depth = 0                       # braces and \left … \right open in the display math
    for n, line in enumerate(lines):
        if fence is not None:
            m = FENCE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end():].strip():
                fence = None
                shapes.append(LineShape("fixed"))
            else:
                shapes.append(LineShape("code"))
            continue
        if closer is None:
            m = FENCE.match(line)
            if m and not (m.group(1)[0] == "`" and "`" in line[m.end():]):
                fence = m.group(1)
                shapes.append(LineShape("fixed"))
                continue
        starts_in_math = closer is not None
        delimiters = False
        math_from = 0                     # where this line's (last) stretch of math begins
        base = depth if starts_in_math else 0   # the group depth there
        closed_at: int | None = None      # column after a closing delimiter on this line
        comment: int | None = None        # column of a TeX comment in the math
        i = 0
        if closer is None:
            m = ENV_BEGIN.match(line)
            if m:
                closer, opened, i, delimiters = f"\\end{{{m.group(2)}}}", (n, m.start(1)), m.end(), True
                math_from, base = i, 0
        while i < len(line):
            c = line[i]
            if closer is not None:
                if line.startswith(closer, i):
                    i += len(closer)
                    spans.append(MathSpan(opened, (n, i), True))
                    closer, closed_at, delimiters = None, i, True
                elif c == "\\":
                    i += 2
                else:
                    if c == "%" and comment is None:
                        comment = i
                    i += 1
                continue
            if c == "`":
                i = _skip_code_span(line, i)
            elif line.startswith("\\[", i) and (not line[:i].strip() or "\\]" in line[i + 2:]):
                # display math at the start of a line, or closed on it; elsewhere an escaped "["
                closer, opened, delimiters = "\\]", (n, i), True
                i += 2
                math_from, base = i, 0
            elif line.startswith("\\(", i) and "\\)" in line[i + 2:]:
                end = line.index("\\)", i + 2) + 2
                spans.append(MathSpan((n, i), (n, end), False))
                i = end
            elif c == "\\":
                i += 2
            elif line.startswith("$$", i):
                closer, opened, delimiters = "$$", (n, i), True
                i += 2
                math_from, base = i, 0
            elif c == "$":
                end = _inline_math_end(line, i)
                if end is not None:
                    spans.append(MathSpan((n, i), (n, end), False))
                    i = end
                else:
                    i += 1
            else:
                i += 1
        ends_in_math = closer is not None
        if ends_in_math:
            depth = base + _group_depth(line[math_from: comment if comment is not None else len(line)])
        closes_at_end = closed_at is not None and not line[closed_at:].strip()
        if not line.strip():
            shapes.append(LineShape("fixed"))
        elif ends_in_math or closes_at_end:
            closing = _closer_before(line, closed_at) if closes_at_end else None
            at = _math_column(line, comment, closing)
            complete = not ARGUMENT_PENDING.search(line[:at])
            top_level = base + _group_depth(line[math_from:at]) <= 0
            # the start of a row that begins at the top level is the other good place: there the
            # mark stands before the row's "&=" instead of inside a group left open (a \left( or
            # a { closed on a later line) or in place of an argument that follows on the next line
            can_prepend = (starts_in_math and not delimiters and base <= 0 and n > 0
                           and not ARGUMENT_PENDING.search(lines[n - 1]))
            if complete and top_level:
                shapes.append(LineShape("math", at))
            elif can_prepend:
                shapes.append(LineShape("math", _row_start(line), prepend=True))
            elif complete:
                shapes.append(LineShape("math", at))  # inside a group, but still valid LaTeX
            else:
                shapes.append(LineShape("math", None))
        elif RULE.match(line) or TABLE_DELIMITER.match(line):
            shapes.append(LineShape("fixed"))
        else:
            shapes.append(LineShape("prose"))
    if closer is not None and lines:
        spans.append(MathSpan(opened, (len(lines) - 1, len(lines[-1])), True))
    return shapes, spans, fence, closer


def _group_depth(tex: str) -> int:
    """How many groups (`{`, `\\left`) the TeX opens minus how many it closes."""
    depth, i = 0, 0
    while i < len(tex):
        c = tex[i]
        if c == "%":
            break
        if c == "\\":
            word = re.match(r"[A-Za-z]+", tex[i + 1:])
            if word:
                depth += {"left": 1, "right": -1}.get(word.group(), 0)
                i += 1 + len(word.group())
            else:
                i += 2
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        i += 1
    return depth


def _row_start(line: str) -> int:
    """The column after a line's indentation and a leading row break `\\\\`."""
    return re.match(r"\s*(?:\\\\\s*)?", line).end()


def _skip_code_span(line: str, i: int) -> int:
    """The column after the inline code span opening at i (or after its backticks if unclosed)."""
    j = i
    while j < len(line) and line[j] == "`":
        j += 1
    run = j - i
    k = j
    while k < len(line):
        if line[k] == "`":
            e = k
            while e < len(line) and line[e] == "`":
                e += 1
            if e - k == run:
                return e
            k = e
        else:
            k += 1
    return j


def _inline_math_end(line: str, i: int) -> int | None:
    """The column after `$…$` opening at i (pandoc's rule: no space inside the dollars, no digit
    right after the closing one — so `$5 and $6` is not math), or None."""
    if i + 1 >= len(line) or line[i + 1].isspace():
        return None
    k = i + 1
    while k < len(line):
        if line[k] == "\\":
            k += 2
            continue
        if line[k] == "$":
            if line.startswith("$$", k):
                return None
            if not line[k - 1].isspace() and not (k + 1 < len(line) and line[k + 1].isdigit()):
                return k + 1
        k += 1
    return None


def _closer_before(line: str, closed_at: int) -> str:
    for closer in ("$$", "\\]"):
        if line.startswith(closer, closed_at - len(closer)):
            return closer
    return "env"  # \end{align} of a bare environment: stripped below like any \end{...}


def _math_column(line: str, comment: int | None, closing: str | None) -> int:
    """Where a LaTeX mark goes in a math line: before a TeX comment, the closing delimiter,
    `\\end{align}` and the row's `\\\\` (so it stays in the row it marks)."""
    text = line[:comment] if comment is not None else line
    text = text.rstrip()
    if closing in ("$$", "\\]"):
        text = text[: -len(closing)].rstrip()
    while True:
        m = ENV_END_AT_END.search(text)
        if m:
            text = text[: m.start()].rstrip()
            continue
        trailing = len(text) - len(text.rstrip("\\"))
        if trailing >= 2 and trailing % 2 == 0:
            text = text[:-2].rstrip()
            continue
        return len(text)


# -- Markdown -----------------------------------------------------------------------------------

MD_SYMBOL = {Status.ERROR: "\\!"}  # "![" would start an image
MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~$&]|^#)")


def _md(text: str) -> str:
    """Plain text safe in Markdown: no emphasis, links, HTML or math out of it."""
    return MD_SPECIAL.sub(r"\\\1", _one_line(text))


def _code(text: str) -> str:
    text = _one_line(text)
    ticks = max((len(run) for run in re.findall(r"`+", text)), default=0) + 1
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{'`' * ticks}{pad}{text}{pad}{'`' * ticks}"


def latex_marks(marks: Iterable[Mark], prepend: bool = False) -> str:
    """The marks as LaTeX for a line in display math: `\\text{✓}^{\\text{[61]}}`."""
    body = "\\;".join(f"\\text{{{m.symbol}}}^{{\\text{{[{m.ref}]}}}}" for m in marks)
    return f"{body}\\qquad " if prepend else f" \\qquad{body}"


def _md_refs(marks: Iterable[Mark]) -> str:
    return " ".join(f"{MD_SYMBOL.get(m.status, m.symbol)}[^L{m.ref}]" for m in marks)


def marked_line(line: str, shape: LineShape, marks: list[Mark]) -> str:
    """The line with its marks in Markdown (prose: references, math: LaTeX, code: text)."""
    if shape.kind == "math" and shape.at is not None:
        if shape.prepend:
            space = " " if shape.at and not line[shape.at - 1].isspace() else ""  # "\\ \text", not "\\\text"
            return line[: shape.at] + space + latex_marks(marks, prepend=True) + line[shape.at:]
        return line[: shape.at] + latex_marks(marks) + line[shape.at:]
    if shape.kind == "code":
        return line + "  " + " ".join(f"{m.symbol}[{m.ref}]" for m in marks)
    if shape.kind == "prose":
        at = prose_column(line)
        return line[:at] + " " + _md_refs(marks) + line[at:]
    return line


ATX_CLOSING = re.compile(r"^ {0,3}#{1,6}[ \t].*?([ \t]+#+)[ \t]*$")


def prose_column(line: str) -> int:
    """Where a mark goes in a prose line: at its end, but before trailing spaces or a backslash
    (a hard break), the last `|` of a table row (text after it is no cell) and a heading's
    closing `#`s."""
    content = line.rstrip()
    if (len(content) - len(content.rstrip("\\"))) % 2 == 1:
        return len(content) - 1
    if content.lstrip().startswith("|") and content.endswith("|") and len(content.strip()) > 1:
        return len(content) - 1
    heading = ATX_CLOSING.match(content)
    if heading:
        return heading.start(1)
    return len(content)


def render_markdown(a: Annotation) -> str:
    out = []
    for n, (line, ending) in enumerate(zip(a.lines, a.endings), start=1):
        marks = a.placed.get(n)
        out.append((marked_line(line, a.shapes[n - 1], marks) if marks else line) + ending)
    text = "".join(out)
    if text and not text.endswith("\n"):
        text += "\n"
    tail = []
    if a.open_fence:   # the document ends in an open code fence or display math: close it here,
        tail.append(a.open_fence)      # after the last line, so the notes are not swallowed
    if a.open_math:
        tail.append(a.open_math)
    tail += ["", "---", "", f"## deriv: the checked lines of {_md(a.doc_name)}", "", _md(a.summary_line()) + ".", "",
             "Marks: " + " · ".join(f"{MD_SYMBOL.get(s, SYMBOLS[s])} {MEANING[s]}" for s in Status) + ". "
             "In display math the mark is LaTeX, `\\text{✓}^{\\text{[61]}}` with the line number, because a "
             "footnote reference cannot go inside math; the references are in the list below.", ""]
    for n, marks in a.placed.items():
        shape = a.shapes[n - 1]
        where = {"math": "math", "code": "code"}.get(shape.kind, "")
        if shape.kind == "prose":
            refs = " ".join(f"{MD_SYMBOL.get(m.status, m.symbol)}" for m in marks) + " (footnotes in the text)"
        else:
            refs = _md_refs(marks)
            if not a.marked_in_place(n):
                where = "no mark in the line: " + ("a blank line, a rule or a code fence" if shape.kind == "fixed"
                                                   else "a mark there would change the LaTeX")
        item = f"- line {n}{f' ({where})' if where else ''}: {refs}"
        fixes = [f"{label} {_code(rhs)}" for m in marks for label, rhs in m.fixes()]
        tail.append(item + (" — " + "; ".join(fixes) if fixes else ""))
    if a.unplaced:
        tail += ["", f"### Steps not placed in {_md(a.doc_name)} ({len(a.lines)} lines)", ""]
        for m in a.unplaced:
            where = "no line" if m.line is None else f"line {m.line}, past the end"
            tail.append(f"- {_code(str(m.derivation.get('id')))} step {m.step.get('index')} ({where}): "
                        f"{_md_refs([m])}")
    if a.load_errors:
        tail += ["", "### Modules that could not be loaded", ""]
        tail += [f"- {_md(str(f.get('file')))}: {_md(str(f.get('message')))}" for f in a.load_errors]
    tail.append("")
    for m in a.all_marks():
        head = f"line {m.line}" if m.line is not None and m.ref[0] != "u" else (
            "not placed" + (f" (line {m.line})" if m.line is not None else ""))
        tail.append(f"[^L{m.ref}]: **{_md(head)} · {_md(m.status_words())}** · {_code(m.where())}"
                    + (f" — {_md(str(m.derivation.get('title')))}" if m.derivation.get("title") else ""))
        tail.append("")
        for line in m.note_lines():
            label, sep, rest = line.partition(": ")
            if sep and label == "claim":
                tail.append(f"    - claim: {_code(rest)}")
            elif sep and label.startswith("corrected (step "):
                relation_rhs, arrow, verdict = rest.partition("  → ")
                tail.append(f"    - {_md(label)}: {_code(relation_rhs)}{' → ' + _md(verdict) if arrow else ''}")
            else:
                tail.append(f"    - {_md(line)}")
        tail.append("")
    return text + "\n".join(tail)


# -- HTML ---------------------------------------------------------------------------------------

MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js"
STYLE = """
:root { --proved: #1a7f37; --numeric: #0a58ca; --refuted: #cf222e; --unknown: #9a6700; --error: #8250df; }
body { font: 16px/1.6 system-ui, sans-serif; max-width: 58rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
header { border-bottom: 1px solid #d0d7de; margin-bottom: 1.5rem; }
header h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
.verdict-pass { color: var(--proved); font-weight: bold; } .verdict-fail { color: var(--refuted); font-weight: bold; }
.legend span.mark { margin-right: .8rem; }
div.math { white-space: pre-wrap; overflow-x: auto; overflow-y: hidden; font-family: ui-monospace, monospace; font-size: .9rem;
           background: #f6f8fa; border-left: 3px solid #d0d7de; padding: .5rem .8rem; margin: 1rem 0 .3rem; }
div.math mjx-container { font-family: initial; }
span.math { font-family: ui-monospace, monospace; font-size: .92em; }
span.math mjx-container { font-family: initial; }
ul.cited { list-style: none; margin: 0 0 1rem; padding: 0 0 0 .8rem; font-size: .9rem; }
ul.cited li { margin: .15rem 0; }
ul.cited code, .notes code { font-size: .85rem; background: #f6f8fa; padding: 0 .2rem; word-break: break-word; }
.line-no { color: #57606a; display: inline-block; min-width: 4.2rem; }
a.mark { text-decoration: none; font-weight: bold; border-radius: .3rem; padding: 0 .25rem; border: 1px solid; white-space: nowrap; }
a.mark sup { font-weight: normal; font-size: .7em; }
.proved { color: var(--proved); } a.mark.proved { background: #dafbe1; }
.numeric { color: var(--numeric); } a.mark.numeric { background: #ddf4ff; }
.refuted { color: var(--refuted); } a.mark.refuted { background: #ffebe9; }
.unknown { color: var(--unknown); } a.mark.unknown { background: #fff8c5; }
.error { color: var(--error); } a.mark.error { background: #fbefff; }
.correction { color: #1f2328; }
.notes > ol > li { margin-bottom: .8rem; } .notes ul { margin: .2rem 0; padding-left: 1.2rem; font-size: .9rem; }
.notes li:target { background: #fff8c5; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: .2rem .5rem; }
"""
MATHJAX_CONFIG = ("window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
                  "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEnvironments: true}, "
                  "options: {ignoreHtmlClass: 'tex2jax_ignore', processHtmlClass: 'tex2jax_process'}};")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _badge(m: Mark) -> str:
    return (f'<a class="mark {m.status.value}" id="ref-{m.ref}" href="#note-{m.ref}" '
            f'title="{_e(m.status_words())}: note {m.ref}">{m.symbol}<sup>[{_e(m.ref)}]</sup></a>')


def _cited_item(a: Annotation, n: int, marks: list[Mark]) -> str:
    """A cited line: its badges, its text in the document, the statuses and any correction."""
    parts = [f'<span class="line-no">line {n}</span> ' + " ".join(_badge(m) for m in marks),
             f" <code>{_e(_one_line(a.lines[n - 1]))}</code>"]
    parts.append(" " + ", ".join(f'<span class="{m.status.value}">{_e(m.status.value)}'
                                 f'{" (expected)" if m.expected == "refuted" and m.met else ""}</span>'
                                 for m in marks))
    for m in marks:
        for label, rhs in m.fixes():
            parts.append(f' <span class="correction">— {_e(label)}: <code>{_e(rhs)}</code></span>')
    return f'<li id="line-{n}">{"".join(parts)}</li>'


def _markdown_renderer():
    from markdown_it import MarkdownIt

    # raw HTML off: a document's <script> is shown as text, never run
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def render_html(a: Annotation) -> str:
    nonce = secrets.token_hex(6)
    while nonce in "\n".join(a.lines):
        nonce = secrets.token_hex(6)

    def token(kind: str, k: int) -> str:
        return f"DERIV{kind}{nonce}X{k}X"

    # 1. the source with marks: LaTeX in math lines (typeset with the math), tokens elsewhere
    lines = list(a.lines)
    mark_tokens: dict[str, tuple[int, list[Mark]]] = {}
    for n, marks in a.placed.items():
        shape = a.shapes[n - 1]
        if shape.kind == "math" and shape.at is not None:
            lines[n - 1] = marked_line(lines[n - 1], shape, marks)
        elif shape.kind in ("prose", "code"):
            t = token("MARK", n)
            mark_tokens[t] = (n, marks)
            at = prose_column(lines[n - 1]) if shape.kind == "prose" else len(lines[n - 1])
            lines[n - 1] = lines[n - 1][:at] + " " + t + lines[n - 1][at:]
    # 2. math out of Markdown's reach: each span becomes a token (a block of its own when the
    # span fills its lines), restored as escaped text after rendering
    _, spans, _, _ = scan(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    source = "\n".join(lines)
    math_tokens: dict[str, tuple[str, str, range]] = {}
    for k, span in sorted(enumerate(spans), key=lambda ks: ks[1].start, reverse=True):
        (l0, c0), (l1, c1) = span.start, span.end
        latex = source[starts[l0] + c0: starts[l1] + c1]
        t = token("MATH", k)
        block = span.display and not lines[l0][:c0].strip() and not lines[l1][c1:].strip()
        if block:
            indent = lines[l0][: len(lines[l0]) - len(lines[l0].lstrip())]
            source = source[: starts[l0]] + f"\n{indent}{t}\n" + source[starts[l1] + len(lines[l1]):]
        else:
            source = source[: starts[l0] + c0] + t + source[starts[l1] + c1:]
        math_tokens[t] = ("block" if block else "display" if span.display else "inline", latex, range(l0 + 1, l1 + 2))
    body = _markdown_renderer().render(source)
    # 3. tokens back: math as escaped text, each display block followed by its cited lines
    cited_in_math = set()
    for t, (kind, latex, span_lines) in math_tokens.items():
        cited = [(n, a.placed[n]) for n in span_lines
                 if n in a.placed and a.shapes[n - 1].kind == "math" and n not in cited_in_math]
        cited_in_math.update(n for n, _ in cited)
        listing = ('<ul class="cited">' + "".join(_cited_item(a, n, marks) for n, marks in cited) + "</ul>"
                   if cited else "")
        if kind == "block":
            replacement = f'<div class="math tex2jax_process">{_e(latex)}</div>\n{listing}'
            body = body.replace(f"<p>{t}</p>", replacement).replace(t, replacement)
        elif kind == "display":
            inline = "".join(f' <span id="line-{n}">{" ".join(_badge(m) for m in marks)}</span>'
                             for n, marks in cited)
            body = body.replace(t, f'<span class="math display tex2jax_process">{_e(latex)}</span>{inline}')
        else:
            body = body.replace(t, f'<span class="math tex2jax_process">{_e(latex)}</span>')
    for t, (n, marks) in mark_tokens.items():
        body = body.replace(t, f'<span id="line-{n}">{" ".join(_badge(m) for m in marks)}</span>')
    # 4. the page: summary, document, lines without a mark in place, steps not placed, notes
    others = [(n, marks) for n, marks in a.placed.items()
              if n not in cited_in_math and not (a.shapes[n - 1].kind in ("prose", "code"))]
    counts = a.counts()
    out = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(a.doc_name)} — deriv annotate</title>", f"<style>{STYLE}</style>",
           f"<script>{MATHJAX_CONFIG}</script>", f'<script defer src="{MATHJAX}"></script>',
           '</head><body class="tex2jax_ignore">', "<header>",
           f"<h1>{_e(a.doc_name)}: every checked line marked by deriv</h1>",
           f'<p><span class="verdict-{"pass" if a.passed else "fail"}">{"PASS" if a.passed else "FAIL"}</span> '
           f"· {_e(a.summary_line().split(' · ', 1)[1])}.</p>",
           '<p class="legend">' + "".join(
               f'<span class="mark {s.value}">{SYMBOLS[s]} {_e(MEANING[s])}'
               f'{f" ({counts[s]})" if counts[s] else ""}</span> ' for s in Status) + "</p>",
           "<p>Math is typeset by MathJax when scripts run; without them it is shown as LaTeX, "
           "with each cited row's mark written in it as <code>\\text{✓}^{\\text{[61]}}</code> "
           "(61: the line of the document). The list under each block links every mark to its note.</p>",
           "</header>", '<main class="document">', body, "</main>"]
    if others:
        out += ['<section class="others"><h2>Cited lines without a mark in the text</h2>',
                "<p>Blank lines, rules and code fences, which cannot hold a mark.</p>",
                '<ul class="cited">' + "".join(_cited_item(a, n, marks) for n, marks in others) + "</ul></section>"]
    if a.unplaced:
        out += [f'<section class="unplaced"><h2>Steps not placed in {_e(a.doc_name)} ({len(a.lines)} lines)</h2>',
                '<ul class="cited">']
        for m in a.unplaced:
            where = "no line" if m.line is None else f"line {m.line}, past the end"
            out.append(f"<li>{_badge(m)} <code>{_e(m.derivation.get('id'))}</code> step "
                       f"{_e(m.step.get('index'))} ({_e(where)}): {_e(m.status_words())}</li>")
        out.append("</ul></section>")
    if a.load_errors:
        out += ['<section class="load-errors"><h2>Modules that could not be loaded</h2><ul>']
        out += [f"<li><code>{_e(f.get('file'))}</code>: {_e(f.get('message'))}</li>" for f in a.load_errors]
        out.append("</ul></section>")
    out += ['<section class="notes" id="notes"><h2>Notes</h2><ol>']
    for m in a.all_marks():
        head = f'<a href="#line-{m.line}">line {m.line}</a>' if m.line is not None and m.ref[0] != "u" \
            else "not placed" + (f" (line {m.line})" if m.line is not None else "")
        title = f" — {_e(m.derivation.get('title'))}" if m.derivation.get("title") else ""
        items = []
        for line in m.note_lines():
            label, sep, rest = line.partition(": ")
            if sep and (label == "claim" or label.startswith("corrected (step ")):
                rhs, arrow, verdict = rest.partition("  → ")
                items.append(f"<li>{_e(label)}: <code>{_e(rhs)}</code>{' → ' + _e(verdict) if arrow else ''}</li>")
            else:
                items.append(f"<li>{_e(line)}</li>")
        out.append(f'<li id="note-{m.ref}"><strong>{head}</strong> '
                   f'<span class="{m.status.value}"><strong>{_e(m.status_words())}</strong></span> · '
                   f"<code>{_e(m.where())}</code>{title} "
                   f'<a href="#ref-{m.ref}" title="back to the mark">↩</a><ul>{"".join(items)}</ul></li>')
    out += ["</ol></section>", "</body></html>", ""]
    return "\n".join(out)
