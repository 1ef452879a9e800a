"""Reporters: read verdicts, never re-check. A rich terminal report and the JSON of DESIGN §5."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .explain import KINDS, RELATIONS, SYMBOLS, diagnosis_lines, evidence_lines
from .runner import DerivationResult, RunResult, StepResult
from .verdict import Status

STYLES = {Status.PROVED: "green", Status.NUMERIC: "cyan", Status.REFUTED: "red",
          Status.UNKNOWN: "yellow", Status.ERROR: "magenta"}
# for a terminal that cannot show the symbols (an ASCII locale, a legacy console)
ASCII = {"✓": "+", "≈": "~", "✗": "x", "?": "?", "!": "!", "≤": "<=", "≥": ">=", "−": "-", "→": "->",
         "↳": ">", "…": "...", "—": "-", "·": "*", "∈": "in", "≡": "==", "δ": "delta"}


# -- JSON ---------------------------------------------------------------------------------------

def step_json(s: StepResult) -> dict[str, Any]:
    v = s.verdict
    evidence = v.to_dict()["evidence"]  # plain dicts and lists all the way down
    return {"index": s.index, "line": s.line, "relation": s.relation, "status": v.status.value,
            "expected": s.expected, "met": s.met, "method": v.method, "seconds": round(v.seconds, 4),
            "detail": v.detail, "counterexample": None if v.counterexample is None else dict(v.counterexample),
            "correction_of": s.correction_of, "note": s.note or None, "lhs": s.lhs, "rhs": s.rhs,
            "cached": s.cached, "diagnosis": evidence.get("diagnosis"), "certificate": evidence.get("certificate"), "evidence": evidence}


def run_json(result: RunResult) -> dict[str, Any]:
    return {
        "summary": result.summary(),
        "derivations": [
            {"id": d.id, "title": d.title, "source": d.source, "file": d.file, "passed": d.passed,
             **({"notes": list(d.notes)} if d.notes else {}), "steps": [step_json(s) for s in d.steps]}
            for d in result.derivations
        ],
        "load_errors": [{"file": f.file, "message": f.message} for f in result.failures],
    }


def write_json(result: RunResult, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(run_json(result), handle, indent=2, ensure_ascii=False, default=str)
        handle.write("\n")


# -- terminal -------------------------------------------------------------------------------------

def status_text(s: StepResult) -> Text:
    v = s.verdict
    text = Text(f"{SYMBOLS[v.status]} {v.status.value}", style=STYLES[v.status])
    if s.expected:
        text.append(" (expected)" if s.met else f" (expected {s.expected})",
                    style="dim" if s.met else "bold red")
    elif not s.met:
        text.stylize("bold")
    return text


def _one_line(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def derivation_table(d: DerivationResult, width: int = 200) -> Table:
    """One row per step; on a narrow terminal the method moves into the detail column."""
    mark = "[green]✓[/]" if d.passed else "[bold red]✗[/]"
    title = f"{mark} [bold]{d.id}[/] — {d.title}" if d.title else f"{mark} [bold]{d.id}[/]"
    table = Table(title=title, title_justify="left", caption=f"{d.source or d.file}",
                  caption_justify="left", expand=False)
    rows = []
    for s in d.steps:
        v = s.verdict
        rows.append([f"↳{s.index}" if s.correction_of else str(s.index), str(s.line or "–"),
                     RELATIONS.get(s.relation, s.relation), status_text(s), _one_line(v.method, 22),
                     "cached" if s.cached else f"{v.seconds:.2f}s",
                     (f"corrects step {s.correction_of}: " if s.correction_of else "") + _glance(v)])
    columns = ["#", "line", "rel", "status", "method", "time"]
    widths = [max([len(c)] + [len(str(r[i])) if i != 3 else len(r[i].plain) for r in rows])
              for i, c in enumerate(columns)]
    with_method = width - (sum(widths) + 3 * 7 + 1) >= 30
    if not with_method:
        for r in rows:
            r[6] = f"{r[4]}: {r[6]}"
        widths[4] = 0
    room = max(20, width - (sum(widths) + 3 * (7 if with_method else 6) + 1))
    for name in columns:
        if name == "method" and not with_method:
            continue
        table.add_column(name, justify="right" if name in ("#", "line", "time") else "left", no_wrap=True)
    table.add_column("detail", overflow="ellipsis", no_wrap=True)
    for r in rows:
        cells = r[:4] + ([r[4]] if with_method else []) + [r[5], _one_line(r[6], room)]
        table.add_row(*[c if isinstance(c, Text) else Text(c) for c in cells])  # no markup in data
    return table


def _glance(v) -> str:
    """The detail column: for a refutation, the kind of difference and the suggestion first."""
    diagnosis = v.evidence.get("diagnosis")
    if v.status is not Status.REFUTED or not diagnosis:
        return v.detail
    suggestion = diagnosis.get("suggestion")
    if suggestion:
        mark = "✓" if suggestion["status"] == "proved" else "≈"
        return (f"differ by {KINDS.get(diagnosis['kind'], diagnosis['kind'])}; did you mean "
                f"{RELATIONS.get(suggestion['relation'], '')} {suggestion['rhs']} {mark}")
    return f"differ by {KINDS.get(diagnosis['kind'], diagnosis['kind'])}; {v.detail}"


def step_details(d: DerivationResult, width: int) -> Group:
    """--verbose: each step's two sides (pretty-printed where they fit) and its evidence."""
    blocks = []
    for s in d.steps:
        head = Text.assemble((f"step {s.index}", "bold"), f"  line {s.line or '–'}  ", status_text(s),
                             f"  {s.verdict.method}")
        body = []
        if s.lhs:
            body += [pretty(s.lhs, width - 4), RELATIONS.get(s.relation, s.relation), pretty(s.rhs, width - 4)]
        elif s.rhs:
            body.append(s.rhs)
        if s.verdict.status is not Status.REFUTED:  # a refutation has its own panel
            body += evidence_lines(s.verdict, s.relation)
        blocks.append(head)
        blocks += [Text("    " + line.replace("\n", "\n    ")) for line in body]
    return Group(*blocks)


def refutation_panel(d: DerivationResult, s: StepResult) -> Panel:
    """A refuted step: the claim, the confirmed counterexample with both sides' values, how the
    sides differ, the nearest step deriv proves, and the document's own correction."""
    v = s.verdict
    lines = [Text.assemble(("step ", "dim"), str(s.index), ("  line ", "dim"), str(s.line))]
    if s.lhs:
        lines.append(Text(f"claimed: {s.lhs}  {RELATIONS.get(s.relation, s.relation)}  {s.rhs}"))
    diagnosis = v.evidence.get("diagnosis")
    for line in evidence_lines(v, s.relation):
        if diagnosis and line in diagnosis_lines(diagnosis):
            continue
        style = "bold" if line.startswith("counterexample") else ""
        lines.append(Text(line, style=style))
    if "tables" in v.evidence:
        for name, rows in v.evidence["tables"].items():
            lines.append(Text(f"  {name} = {rows}", style="dim"))
    for line in diagnosis_lines(diagnosis):
        label, _, rest = line.partition(":") if line.startswith("diagnosis") else ("", "", line)
        if line.startswith("did you mean"):
            lines.append(Text(line, style="bold green" if diagnosis["suggestion"]["status"] == "proved"
                              else "cyan"))
        elif label:
            lines.append(Text.assemble((label + ":", "bold"), rest))
        else:
            lines.append(Text(line))
    if s.note:
        lines.append(Text.assemble(("why: ", "bold"), s.note))
    corrected = [c for c in d.steps if c.correction_of == s.index]
    for c in corrected:
        lines.append(Text.assemble(("document's correction: ", "bold"), f"{c.rhs}  → ", status_text(c),
                                   f" ({c.verdict.method})"))
    style = "red" if not s.met else "dim red"
    title = f"{d.id} · line {s.line}: refuted" + (" (expected)" if s.met else "")
    return Panel(Group(*lines), title=title, title_align="left", border_style=style)


def problem_panel(d: DerivationResult, s: StepResult) -> Panel:
    """Where and why a step could not be decided: file, derivation, step, line, reason."""
    v = s.verdict
    body = Text.assemble((f"{d.file}", "bold"), f"  derivation {d.id}, step {s.index}, line {s.line}\n",
                         Text(v.detail))
    return Panel(body, title=f"{d.id} · line {s.line}: {v.status.value}", title_align="left",
                 border_style=STYLES[v.status])


def summary_text(result: RunResult) -> Text:
    """At a glance: does the document hold, and which lines do not."""
    counts = result.summary()
    text = Text()
    text.append("PASS" if result.passed else "FAIL", style="bold green" if result.passed else "bold red")
    text.append(f"  {counts['derivations']} derivations, {counts['steps']} steps: ")
    parts = []
    for status in Status:
        n = counts[status.value]
        if n:
            parts.append((f"{SYMBOLS[status]} {n} {status.value}", STYLES[status]))
    for i, (label, style) in enumerate(parts):
        text.append(label, style=style)
        if i < len(parts) - 1:
            text.append(", ")
    text.append(f"  in {counts['seconds']:.1f} s")
    expected = [(d, s) for d in result.derivations for s in d.steps if s.expected and s.met]
    if expected:
        lines = sorted({s.line for _, s in expected if s.line is not None})
        suggested = sum(1 for _, s in expected if _proved_suggestion(s))
        text.append(f"\nmistakes of the document, refuted as expected: {len(expected)} "
                    f"(line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}); "
                    f"a proved correction suggested for {suggested}", style="dim")
    failing = [(d, s) for d in result.derivations for s in d.steps if not s.met]
    if failing:
        lines = ", ".join(f"{d.id}:{s.line}" for d, s in failing)
        text.append(f"\nnot holding: {lines}", style="red")
    for f in result.failures:
        text.append(f"\ncould not load {f.file}", style="magenta")
    return text


def _proved_suggestion(s: StepResult) -> bool:
    diagnosis = s.verdict.evidence.get("diagnosis") or {}
    suggestion = diagnosis.get("suggestion") or {}
    return suggestion.get("status") == "proved"


def pretty(expression: str, width: int) -> str:
    """A step side as sympy's 2-D pretty print when it fits the width, else as written."""
    import sympy as sp

    try:
        shown = sp.pretty(sp.parse_expr(expression, evaluate=False), use_unicode=True, wrap_line=False)
    except Exception:  # noqa: BLE001 - a side sympy cannot re-read is shown as text
        return expression
    return shown if max(map(len, shown.splitlines() or [""])) <= width else expression


def print_report(result: RunResult, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
    if not (console.encoding or "").lower().startswith("utf"):
        with console.capture() as captured:
            _print_report(result, console, verbose, quiet)
        console.file.write(captured.get().translate(str.maketrans(ASCII)))
        return
    _print_report(result, console, verbose, quiet)


def _print_report(result: RunResult, console: Console, verbose: bool, quiet: bool) -> None:
    noted: set[tuple[str, ...]] = set()
    if not quiet:
        for d in result.derivations:
            if d.notes and d.notes not in noted:  # how a document was read: once per document
                noted.add(d.notes)
                console.print(Panel("\n".join(d.notes), title=f"read from {d.source}", title_align="left",
                                    border_style="blue"))
            console.print(derivation_table(d, console.width))
            if verbose:
                console.print(step_details(d, console.width))
            for s in d.steps:
                if s.verdict.status is Status.REFUTED:
                    console.print(refutation_panel(d, s))
                elif s.verdict.status in (Status.ERROR, Status.UNKNOWN):
                    console.print(problem_panel(d, s))
            console.print()
    for f in result.failures:
        console.print(Panel(f.message, title="could not load a derivation module",
                            title_align="left", border_style="magenta"))
    console.print(summary_text(result))
