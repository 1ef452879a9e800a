"""How much of a document deriv checks straight from its LaTeX, and whether those verdicts agree
with the hand-encoded derivation modules of the same document.

    python benchmarks/document_agreement.py DOC.json MODULES.json

DOC.json is `deriv verify DOC --json DOC.json`, MODULES.json is `deriv verify --json
MODULES.json` (the bundled modules encode the same document, with its line numbers). Lines are
compared where both have a verdict: a contradiction is a line the document run refutes while
the modules prove (or accept numerically) what the document wrote there, or the reverse.
Corrected steps of the modules (what the document should have written) are not compared.
"""
from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict

HOLDS = ("proved", "numeric")


def by_line(report: dict, *, literal_only: bool) -> dict[int, list[dict]]:
    lines: dict[int, list[dict]] = defaultdict(list)
    for derivation in report["derivations"]:
        for step in derivation["steps"]:
            if step["line"] is None or (literal_only and step["correction_of"]):
                continue
            lines[step["line"]].append({**step, "derivation": derivation["id"]})
    return lines


def compare(document: dict, modules: dict) -> dict:
    doc, mod = by_line(document, literal_only=False), by_line(modules, literal_only=True)
    statuses = Counter(s["status"] for steps in doc.values() for s in steps)
    checked_lines = sorted(line for line, steps in doc.items() if any(s["status"] != "error" for s in steps))
    error_lines = sorted(line for line, steps in doc.items() if all(s["status"] == "error" for s in steps))
    agree, contradict, only_document = [], [], []
    for line in checked_lines:
        verdicts = {s["status"] for s in doc[line] if s["status"] in HOLDS + ("refuted",)}
        theirs = {s["status"] for s in mod.get(line, []) if s["status"] in HOLDS + ("refuted",)}
        if not verdicts:
            continue
        if not theirs:
            only_document.append(line)
            continue
        doc_holds, doc_refutes = bool(verdicts & set(HOLDS)), "refuted" in verdicts
        mod_holds, mod_refutes = bool(theirs & set(HOLDS)), "refuted" in theirs
        if (doc_refutes and mod_holds and not mod_refutes) or (doc_holds and mod_refutes and not mod_holds):
            contradict.append(line)
        else:
            agree.append(line)
    return {"document_steps": sum(statuses.values()), "statuses": dict(statuses),
            "lines_with_a_verdict": len(checked_lines), "unreadable_lines": len(error_lines),
            "compared_lines": len(agree) + len(contradict), "agree": agree, "contradict": contradict,
            "only_in_document": only_document,
            "refuted_from_document": sorted(line for line, steps in doc.items()
                                            if any(s["status"] == "refuted" for s in steps))}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as a, open(argv[1], encoding="utf-8") as b:
        result = compare(json.load(a), json.load(b))
    print(f"steps read from the document: {result['document_steps']} {result['statuses']}")
    print(f"lines with a verdict: {result['lines_with_a_verdict']}; lines only unreadable: "
          f"{result['unreadable_lines']}")
    print(f"lines compared with the modules: {result['compared_lines']}: agree {len(result['agree'])}, "
          f"contradict {len(result['contradict'])} {result['contradict']}")
    print(f"refuted from the document alone: {result['refuted_from_document']}")
    print(f"checked from the document, no module verdict at that line: {result['only_in_document']}")
    return 1 if result["contradict"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
