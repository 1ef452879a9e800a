"""Plain-text evidence of a verdict, the same words for every reader.

The terminal report, the pytest plugin's failure text and the annotated document's footnotes
all say what a verdict rests on through `evidence_lines`: for `proved` the strategy that closed
it, for `numeric` how many points at what precision and the worst relative error, for `refuted`
the confirmed counterexample with both sides' values, the kind of difference and the nearest
correct step deriv found, for a limit the leading series terms.
"""
from __future__ import annotations

from typing import Any, Mapping

from .model import RELATION_SYMBOLS as RELATIONS
from .verdict import Status, Verdict

SYMBOLS = {Status.PROVED: "✓", Status.NUMERIC: "≈", Status.REFUTED: "✗", Status.UNKNOWN: "?",
           Status.ERROR: "!"}
KINDS = {
    "sign": "a sign (lhs = −rhs)",
    "constant": "an additive constant",
    "factor": "a constant factor",
    "term": "a term",
    "domain": "only part of the domain (a branch or domain issue)",
    "relation": "the direction of the inequality",
    "limit": "the value of the limit",
}


def _point(counterexample: Mapping[str, Any], width: int = 6) -> str:
    items = list(counterexample.items())
    shown = ", ".join(f"{k} = {_num(v)}" for k, v in items[:width])
    return shown + (f", … ({len(items)} values)" if len(items) > width else "")


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def diagnosis_lines(diagnosis: Mapping[str, Any] | None) -> list[str]:
    """How the sides differ and the nearest correct step, from evidence['diagnosis']."""
    if not diagnosis:
        return []
    lines = []
    if diagnosis.get("summary"):
        lines.append(f"diagnosis: {diagnosis['summary']}")
    if diagnosis.get("residual"):
        lines.append(f"lhs − rhs = {diagnosis['residual']}")
    suggestion = diagnosis.get("suggestion")
    if suggestion:
        relation = RELATIONS.get(suggestion.get("relation", "eq"), suggestion.get("relation", ""))
        how = "proved" if suggestion["status"] == "proved" else "holds numerically, not proved"
        lines.append(f"did you mean  {relation} {suggestion['rhs']}  ({suggestion['edit']}; "
                     f"{how}: {suggestion['method']})")
    elif "tried" in diagnosis:
        lines.append(f"no small edit of the right-hand side holds ({diagnosis['tried']} tried)")
    return lines


def evidence_lines(verdict: Verdict, relation: str = "eq") -> list[str]:
    """What the verdict rests on, as short lines of plain text (no markup)."""
    ev = verdict.evidence
    status = verdict.status
    lines: list[str] = []
    if status is Status.PROVED:
        lines.append(f"proved by {verdict.method}")
        if ev.get("proved_sizes"):
            lines.append(f"at support sizes {', '.join(ev['proved_sizes'])}; sampled at "
                         f"{', '.join(ev.get('sampled_sizes') or ['none'])}")
        if ev.get("lemmas"):
            lines.append(f"lemmas: {', '.join(ev['lemmas'])}")
    elif status is Status.NUMERIC:
        lines.append(_numeric_line(verdict))
    elif status is Status.REFUTED:
        if ev.get("sizes"):
            lines.append(f"at support sizes {ev['sizes']}")
        if verdict.counterexample:
            lines.append(f"counterexample: {_point(verdict.counterexample)}")
        dps = ev.get("confirmed_dps") or ev.get("hp_dps")  # the precisions the difference held at
        at = f" (at {', '.join(map(str, dps))} digits)" if dps else ""
        for key, label in (("lhs_value", "lhs"), ("rhs_value", "rhs"), ("difference", "lhs − rhs")):
            if key in ev and "second_point" not in ev:
                lines.append(f"  {label} = {ev[key]}" + (at if key == "difference" else ""))
        if "second_point" in ev:
            lines.append(f"  lhs − rhs = {ev['difference_at_first']} there, but {ev['difference_at_second']} "
                         f"at {_point(ev['second_point'])}: not constant in the parameters")
        if "sympy_limit" in ev:
            lines.append(f"  the limit is {ev['sympy_limit']}")
        cert = ev.get("certificate")
        if cert:
            lines.append(f"certified: {cert['statement']} (interval arithmetic, {cert['bits']} bits)"
                         if cert.get("certified") else f"not certified: {cert.get('reason', 'no reason given')}")
        lines += diagnosis_lines(ev.get("diagnosis"))
    else:
        lines.append(verdict.detail)
    if relation == "limit" and ev.get("series"):
        lines.append(f"series: {ev['series']}")
    return [line for line in lines if line]


def _numeric_line(verdict: Verdict) -> str:
    ev = verdict.evidence
    parts = []
    if ev.get("sampled_sizes"):
        parts.append(f"sampled at support sizes {', '.join(ev['sampled_sizes'])}")
    if "float_points" in ev:
        parts.append(f"{ev['float_points']} float64 points agree")
    if "hp_points" in ev:
        dps = ev.get("hp_dps") or [50]
        parts.append(f"{ev['hp_points']} re-checked at {', '.join(map(str, dps))} digits")
    if "max_rel_err_float" in ev:
        parts.append(f"worst relative error {float(ev['max_rel_err_float']):.2g}")
    return "; ".join(parts) or verdict.detail


def one_line(verdict: Verdict, relation: str = "eq") -> str:
    """The evidence in one line, for a footnote or a test failure's first line."""
    return f"{SYMBOLS[verdict.status]} {verdict.status.value}: " + "; ".join(
        line.strip() for line in evidence_lines(verdict, relation))
