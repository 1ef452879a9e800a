"""How well deriv explains the document's own mistakes: one row per expected refutation.

    deriv verify --json report.json        # any run of the bundled derivations
    python benchmarks/errata.py report.json

For each step the derivations mark `expect="refuted"`: the kind of difference deriv's diagnosis
names, its "did you mean" suggestion and whether that is proved, and how it compares with the
correction recorded in the derivation module (the step with `correction_of`): "same" when the
two right-hand sides print identically; "equivalent" when both are proved equal to the same
left-hand side (an `=` step: then they are equal to each other); "other" otherwise.
"""
from __future__ import annotations

import json
import sys


def rows(report: dict) -> list[dict]:
    out = []
    for d in report["derivations"]:
        by_index = {s["index"]: s for s in d["steps"]}
        for s in d["steps"]:
            if s.get("expected") != "refuted":
                continue
            diagnosis = s.get("diagnosis") or {}
            suggestion = diagnosis.get("suggestion") or {}
            corrections = [c for c in by_index.values() if c.get("correction_of") == s["index"]]
            correction = corrections[0] if corrections else None
            if not suggestion or correction is None:
                relation_to_correction = "no correction recorded" if correction is None else "-"
            elif suggestion["rhs"] == correction["rhs"] and suggestion["relation"] == correction["relation"]:
                relation_to_correction = "same"
            elif (suggestion["status"] == correction["status"] == "proved" and s["relation"] == "eq"
                  and suggestion["relation"] == "eq"):
                relation_to_correction = "equivalent"
            else:
                relation_to_correction = "other"
            out.append({"derivation": d["id"], "line": s["line"], "status": s["status"],
                        "kind": diagnosis.get("kind"), "edit": suggestion.get("edit"),
                        "suggestion": suggestion.get("status"), "vs correction": relation_to_correction})
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        table = rows(json.load(handle))
    print(f"{'line':>5}  {'derivation':<26} {'status':<8} {'kind':<9} {'suggestion':<10} {'vs correction':<14} edit")
    for r in table:
        print(f"{r['line']!s:>5}  {r['derivation']:<26} {r['status']:<8} {r['kind']!s:<9} "
              f"{r['suggestion'] or 'none':<10} {r['vs correction']:<14} {r['edit'] or ''}")
    proved = sum(1 for r in table if r["suggestion"] == "proved")
    print(f"\n{len(table)} expected refutations; {sum(r['status'] == 'refuted' for r in table)} refuted; "
          f"a proved suggestion for {proved}; same as or equivalent to the recorded correction: "
          f"{sum(r['vs correction'] in ('same', 'equivalent') for r in table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
