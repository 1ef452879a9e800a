"""Reporters: read verdicts, never re-check. A rich terminal report and the JSON of DESIGN §5."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .runner import DerivationResult, RunResult, StepResult
from .verdict import Status

SYMBOLS = {Status.PROVED: "✓", Status.NUMERIC: "≈", Status.REFUTED: "✗", Status.UNKNOWN: "?",
           Status.ERROR: "!"}
STYLES = {Status.PROVED: "green", Status.NUMERIC: "cyan", Status.REFUTED: "red",
          Status.UNKNOWN: "yellow", Status.ERROR: "magenta"}
RELATIONS = {"eq": "=", "le": "≤", "ge": "≥", "lt": "<", "gt": ">", "const": "= c +",
             "limit": "lim", "experiment": "run"}


# -- JSON ---------------------------------------------------------------------------------------

def step_json(s: StepResult) -> dict[str, Any]:
    v = s.verdict
    return {"index": s.index, "line": s.line, "relation": s.relation, "status": v.status.value,
            "expected": s.expected, "met": s.met, "method": v.method, "seconds": round(v.seconds, 4),
            "detail": v.detail, "counterexample": None if v.counterexample is None else dict(v.counterexample),
            "correction_of": s.correction_of, "note": s.note or None, "lhs": s.lhs, "rhs": s.rhs,
            "cached": s.cached, "evidence": dict(v.evidence)}


def run_json(result: RunResult) -> dict[str, Any]:
    return {
        "summary": result.summary(),
        "derivations": [
            {"id": d.id, "title": d.title, "source": d.source, "file": d.file, "passed": d.passed,
             "steps": [step_json(s) for s in d.steps]}
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


def derivation_table(d: DerivationResult, verbose: bool = False, width: int = 200) -> Table:
    """One row per step; on a narrow terminal the method moves into the detail column."""
    mark = "[green]✓[/]" if d.passed else "[bold red]✗[/]"
    title = f"{mark} [bold]{d.id}[/] — {d.title}" if d.title else f"{mark} [bold]{d.id}[/]"
    table = Table(title=title, title_justify="left", caption=f"{d.source or d.file}",
                  caption_justify="left", expand=False, show_lines=verbose)
    rows = []
    for s in d.steps:
        v = s.verdict
        rows.append([f"↳{s.index}" if s.correction_of else str(s.index), str(s.line or "–"),
                     RELATIONS.get(s.relation, s.relation), status_text(s),
                     v.method if verbose else _one_line(v.method, 22),
                     "cached" if s.cached else f"{v.seconds:.2f}s",
                     (f"corrects step {s.correction_of}: " if s.correction_of else "") + v.detail])
    columns = ["#", "line", "rel", "status", "method", "time"]
    widths = [max([len(c)] + [len(str(r[i])) if i != 3 else len(r[i].plain) for r in rows])
              for i, c in enumerate(columns)]
    with_method = verbose or width - (sum(widths) + 3 * 7 + 1) >= 30
    if not with_method:
        for r in rows:
            r[6] = f"{r[4]}: {r[6]}"
        widths[4] = 0
    room = max(20, width - (sum(widths) + 3 * (7 if with_method else 6) + 1))
    for name in columns:
        if name == "method" and not with_method:
            continue
        table.add_column(name, justify="right" if name in ("#", "line", "time") else "left", no_wrap=True)
    table.add_column("detail", overflow="fold" if verbose else "ellipsis", no_wrap=not verbose)
    for r in rows:
        detail = r[6] if verbose else _one_line(r[6], room)
        if verbose:
            step = d.steps[rows.index(r)]
            if step.lhs:
                detail = f"{step.lhs}\n  {r[2]} {step.rhs}\n{detail}"
        cells = r[:4] + ([r[4]] if with_method else []) + [r[5], detail]
        table.add_row(*[c if isinstance(c, Text) else Text(c) for c in cells])  # no markup in data
    return table


def refutation_panel(d: DerivationResult, s: StepResult) -> Panel:
    v = s.verdict
    lines = [Text.assemble(("step ", "dim"), str(s.index), ("  line ", "dim"), str(s.line))]
    if s.lhs:
        lines.append(Text(f"claimed: {s.lhs}  {RELATIONS.get(s.relation, s.relation)}  {s.rhs}"))
    if "sizes" in v.evidence:
        lines.append(Text(f"at support sizes {v.evidence['sizes']}"))
    if v.counterexample:
        point = ", ".join(f"{k} = {val!r}" for k, val in v.counterexample.items())
        lines.append(Text.assemble(("counterexample: ", "bold"), point))
    for key, label in (("lhs_value", "lhs"), ("rhs_value", "rhs"), ("difference", "lhs − rhs")):
        if key in v.evidence and "second_point" not in v.evidence:
            lines.append(Text(f"  {label:>9} = {v.evidence[key]}"))
    if "second_point" in v.evidence:
        lines.append(Text(f"  lhs − rhs = {v.evidence['difference_at_first']} there, but "
                          f"{v.evidence['difference_at_second']} at {dict(v.evidence['second_point'])}: "
                          "not constant in the parameters"))
    if "tables" in v.evidence:
        for name, rows in v.evidence["tables"].items():
            lines.append(Text(f"  {name} = {rows}", style="dim"))
    if "sympy_limit" in v.evidence:
        lines.append(Text(f"  the limit is {v.evidence['sympy_limit']}"))
    if s.note:
        lines.append(Text.assemble(("why: ", "bold"), s.note))
    corrected = [c for c in d.steps if c.correction_of == s.index]
    for c in corrected:
        lines.append(Text.assemble(("corrected: ", "bold"), f"{c.rhs}  → ", status_text(c),
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
    expected = sum(1 for d in result.derivations for s in d.steps if s.expected and s.met)
    if expected:
        text.append(f"  ({expected} expected refutation{'s' if expected > 1 else ''} of the document)")
    text.append(f"  in {counts['seconds']:.1f} s")
    failing = [(d, s) for d in result.derivations for s in d.steps if not s.met]
    if failing:
        lines = ", ".join(sorted({f"{d.id}:{s.line}" for d, s in failing}))
        text.append(f"\nnot holding: {lines}", style="red")
    for f in result.failures:
        text.append(f"\ncould not load {f.file}", style="magenta")
    return text


def print_report(result: RunResult, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
    if not quiet:
        for d in result.derivations:
            console.print(derivation_table(d, verbose, console.width))
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
