"""`deriv annotate`: the source document with every checked line marked by its verdict.

The fixture document (tests/fixtures/annotate/notes.md) and its derivations are checked once; the
annotations are compared with the JSON report of the same run, never with verdicts written here.
"""
import html
import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from deriv import cli, runner

FIXTURES = Path(__file__).parent / "fixtures" / "annotate"
DOC = FIXTURES / "notes.md"
MODULE = FIXTURES / "notes_derivations.py"
SYMBOLS = {"proved": "✓", "numeric": "≈", "refuted": "✗", "unknown": "?", "error": "!"}
WORST_FIRST = ["refuted", "error", "unknown", "numeric", "proved"]

MARK = r"[✓≈✗?!]"
MATH_MARK = re.compile(r"\\text\{(" + MARK + r")\}\^\{\\text\{\[(\d+)(?:-\d+)?\]\}\}")
PROSE_MARK = re.compile(r"\\?(" + MARK + r")\[\^L(\d+)(?:-\d+)?\]")
ONE_MATH = r"\\text\{" + MARK + r"\}\^\{\\text\{\[[0-9-]+\]\}\}"
MATH_RUN = re.compile(r" \\qquad" + ONE_MATH + r"(?:\\;" + ONE_MATH + r")*"      # appended to a row
                      r"|(?:(?<=\S) )?" + ONE_MATH + r"(?:\\;" + ONE_MATH + r")*\\qquad ")  # or at its start
PROSE_RUN = re.compile(r" \\?" + MARK + r"\[\^L[0-9-]+\](?: \\?" + MARK + r"\[\^L[0-9-]+\])*")


def doc_lines() -> list[str]:
    return DOC.read_text(encoding="utf-8").splitlines()


def cited(report: dict, n_lines: int):
    """(line, symbol) of every step of notes.md in the report, and the steps with no place."""
    placed, unplaced = Counter(), []
    for d in report["derivations"]:
        if d["source"] != DOC.name:
            continue
        for s in d["steps"]:
            if isinstance(s["line"], int) and 1 <= s["line"] <= n_lines:
                placed[(s["line"], SYMBOLS[s["status"]])] += 1
            else:
                unplaced.append((d, s))
    return placed, unplaced


def marks_in_markdown(text: str, n_lines: int) -> Counter:
    found = Counter()
    for number, line in enumerate(text.splitlines()[:n_lines], start=1):
        for symbol, cited_line in MATH_MARK.findall(line) + PROSE_MARK.findall(line):
            assert int(cited_line) == number, f"line {number} carries a mark of line {cited_line}: {line}"
            found[(number, symbol)] += 1
    return found


class Marks(HTMLParser):
    """(line, symbol) of every badge inside an element with id="line-N"; notes by id."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, int | None]] = []
        self.marks: Counter = Counter()
        self.notes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        line = None
        if (attrs.get("id") or "").startswith("line-"):
            line = int(attrs["id"][5:])
        elif self.stack:
            line = self.stack[-1][1]
        if (attrs.get("id") or "").startswith("note-"):
            self.notes.append(attrs["id"])
        classes = (attrs.get("class") or "").split()
        if tag == "a" and "mark" in classes and line is not None:
            status = next(c for c in classes if c in SYMBOLS)
            self.marks[(line, SYMBOLS[status])] += 1
        self.stack.append((tag, line))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One check of the fixture: its JSON report, and both annotations made by checking (the
    cache in a temporary folder answers the second and third run with the verdicts of the first)."""
    tmp = tmp_path_factory.mktemp("annotate")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DERIV_CACHE_DIR", str(tmp / "cache"))
        report = tmp / "report.json"
        cli.main(["verify", str(MODULE), "--json", str(report), "-j", "1", "-q"])
        md, page = tmp / "notes.annotated.md", tmp / "notes.annotated.html"
        codes = [cli.main(["annotate", str(DOC), str(MODULE), "-o", str(out), "-j", "1"]) for out in (md, page)]
    data = json.loads(report.read_text(encoding="utf-8"))
    return SimpleNamespace(tmp=tmp, report=data, report_path=report, codes=codes,
                           md=md.read_text(encoding="utf-8"), html=page.read_text(encoding="utf-8"),
                           html_path=page)


def test_exit_status_follows_the_report(run):
    steps = [s for d in run.report["derivations"] if d["source"] == DOC.name for s in d["steps"]]
    expected = 0 if all(s["met"] for s in steps) else 1
    assert run.codes == [expected, expected]


def test_marked_lines_are_exactly_the_lines_of_the_report(run):
    n = len(doc_lines())
    placed, _ = cited(run.report, n)
    # the fixture has what the annotation must handle: an expected refutation, prose and math lines
    assert any(s["expected"] == "refuted" and s["met"] for d in run.report["derivations"] for s in d["steps"])
    found = marks_in_markdown(run.md, n)
    assert found == placed
    assert any(PROSE_MARK.search(line) for line in run.md.splitlines()[:n])
    assert any(MATH_MARK.search(line) for line in run.md.splitlines()[:n])


def test_every_line_keeps_its_number_and_unmarked_lines_are_unchanged(run):
    source = doc_lines()
    annotated = run.md.splitlines()
    placed, _ = cited(run.report, len(source))
    assert len(annotated) > len(source)
    changed = set()
    for number, (before, after) in enumerate(zip(source, annotated), start=1):
        if before != after:
            changed.add(number)
            # marks are only added: without them the line is the document's line
            assert PROSE_RUN.sub("", MATH_RUN.sub("", after)) == before
    assert changed == {line for line, _ in placed}


def test_math_marks_are_latex_inside_the_math(run):
    source = doc_lines()
    for number, (before, after) in enumerate(zip(source, run.md.splitlines()), start=1):
        assert after.count("$$") == before.count("$$"), number
        if MATH_MARK.search(after):
            assert "[^" not in after, f"a footnote reference in math, line {number}"
            mark = MATH_RUN.search(after)
            if mark.group().endswith("\\qquad "):  # at the start of the row
                assert not after[: mark.start()].strip(" \\"), (number, after)
            else:  # in its row: nothing but the row end, the environment end or the delimiter follows
                rest = after[mark.end():]
                assert re.fullmatch(r"\s*(\\\\)?\s*(\\end\{\w+\*?\})?\s*(\$\$|\\\])?\s*", rest), (number, after)
    # every footnote a math mark points to is defined and referenced after the document
    tail = "\n".join(run.md.splitlines()[len(source):])
    for line in run.md.splitlines()[: len(source)]:
        for m in re.finditer(r"\\text\{" + MARK + r"\}\^\{\\text\{\[([0-9-]+)\]\}\}", line):
            assert f"[^L{m.group(1)}]: " in tail
            assert re.search(r"^- line .*\[\^L" + re.escape(m.group(1)) + r"\]", tail, re.M)


def test_a_line_cited_by_several_steps_shows_the_worst_first(run):
    n = len(doc_lines())
    by_line: dict[int, list[str]] = {}
    for d in run.report["derivations"]:
        if d["source"] == DOC.name:
            for s in d["steps"]:
                if isinstance(s["line"], int) and s["line"] <= n:
                    by_line.setdefault(s["line"], []).append(s["status"])
    shared = {line: statuses for line, statuses in by_line.items() if len(statuses) > 1}
    assert shared, "the fixture cites some line twice"
    annotated = run.md.splitlines()
    for line, statuses in shared.items():
        shown = [symbol for symbol, _ in MATH_MARK.findall(annotated[line - 1])] + \
                [symbol for symbol, _ in PROSE_MARK.findall(annotated[line - 1])]
        assert shown == [SYMBOLS[s] for s in sorted(statuses, key=WORST_FIRST.index)]


def footnote(md: str, label: str) -> str:
    match = re.search(r"^\[\^" + re.escape(label) + r"\]: (.*?)(?=^\[\^|\Z)", md, re.M | re.S)
    assert match, f"no footnote {label}"
    return match.group(1)


def test_refuted_line_has_its_counterexample_and_correction(run):
    refuted = [(d, s) for d in run.report["derivations"] for s in d["steps"]
               if d["source"] == DOC.name and s["status"] == "refuted"]
    assert refuted
    for d, s in refuted:
        labels = re.findall(r"\[\^(L" + str(s["line"]) + r"(?:-\d+)?)\]", run.md)
        notes = [footnote(run.md, label) for label in dict.fromkeys(labels)]
        note = next(n for n in notes if f"{d['id']} step {s['index']}`" in n)
        assert "counterexample: " in note
        for name, value in s["counterexample"].items():
            assert f"{name} = {value:.10g}" in note.replace("\\", "")
        assert s["note"] in note.replace("\\", "")
        corrections = [c for c in d["steps"] if c["correction_of"] == s["index"]]
        assert corrections
        for c in corrections:
            assert f"corrected (step {c['index']}): `= {c['rhs']}` → {SYMBOLS[c['status']]} {c['status']}" in note
            # and in the list of checked lines, beside the line's marks
            assert re.search(rf"^- line {s['line']} .*corrected `= {re.escape(c['rhs'])}`", run.md, re.M)
        suggestion = ((s["evidence"].get("diagnosis") or {}) if isinstance(s["evidence"].get("diagnosis"), dict)
                      else {}).get("suggestion")
        if suggestion:
            assert "did you mean" in note


def test_steps_without_a_place_are_listed_after_the_document(run):
    source = doc_lines()
    _, unplaced = cited(run.report, len(source))
    assert unplaced, "the fixture has steps with no line and a line past the end"
    tail = "\n".join(run.md.splitlines()[len(source):])
    section = tail[tail.index("### Steps not placed"):]
    for d, s in unplaced:
        where = "no line" if s["line"] is None else f"line {s['line']}, past the end"
        assert f"`{d['id']}` step {s['index']} ({where}): {SYMBOLS[s['status']]}[^L" in section


def test_derivations_of_other_documents_are_left_out(run):
    others = [d["id"] for d in run.report["derivations"] if d["source"] != DOC.name]
    assert others
    for derivation_id in others:
        assert derivation_id not in run.md and derivation_id not in run.html


def test_html_badges_are_the_lines_of_the_report(run):
    n = len(doc_lines())
    placed, unplaced = cited(run.report, n)
    parser = Marks()
    parser.feed(run.html)
    assert parser.marks == placed
    assert len(parser.notes) == sum(placed.values()) + len(unplaced)


def test_html_escapes_the_document_and_stays_readable_without_scripts(run):
    page = run.html
    assert '<script>alert("not escaped")</script>' not in page
    assert html.escape('<script>alert("not escaped")</script>') in page
    assert len(re.findall(r"<script\b", page)) == 2  # MathJax's configuration and MathJax itself
    # the LaTeX is text in the page (typeset only when scripts run), with its marks
    source = doc_lines()
    for line in source:
        if line.startswith(("\\log", "(x + 1)^2")):
            assert html.escape(line.split("&=")[0]) in page
    assert "\\text{✗}" in page and 'class="math tex2jax_process"' in page
    assert re.search(r'<a class="mark refuted"[^>]*>✗<sup>', page)


def test_the_report_is_escaped_too(run, tmp_path):
    data = json.loads(json.dumps(run.report))
    derivation = next(d for d in data["derivations"] if d["source"] == DOC.name)
    derivation["title"] = "</code><script>stolen()</script>"
    derivation["steps"][0]["note"] = '<img src=x onerror="alert(1)">'
    report = tmp_path / "report.json"
    report.write_text(json.dumps(data), encoding="utf-8")
    out_html, out_md = tmp_path / "a.html", tmp_path / "a.md"
    cli.main(["annotate", str(DOC), "--report", str(report), "-o", str(out_html)])
    cli.main(["annotate", str(DOC), "--report", str(report), "-o", str(out_md)])
    page, md = out_html.read_text(encoding="utf-8"), out_md.read_text(encoding="utf-8")
    assert "<script>stolen" not in page and "<img src=x" not in page
    assert html.escape('<img src=x onerror="alert(1)">') in page
    after_the_document = "\n".join(md.splitlines()[len(doc_lines()):])
    assert not re.search(r"(?<!\\)<(img|script)", after_the_document) and "\\<img src=x" in after_the_document


def test_report_annotates_without_checking(run, tmp_path, monkeypatch):
    def no_checking(*args, **kwargs):
        raise AssertionError("--report must not check anything")

    monkeypatch.setattr(runner, "run", no_checking)
    monkeypatch.setattr(cli, "run_checks", no_checking)
    out_md, out_html = tmp_path / "from-report.md", tmp_path / "from-report.html"
    codes = [cli.main(["annotate", str(DOC), "--report", str(run.report_path), "-o", str(out)])
             for out in (out_md, out_html)]
    assert codes == run.codes
    assert out_md.read_text(encoding="utf-8") == run.md
    assert out_html.read_text(encoding="utf-8") == run.html


def test_format_from_the_suffix_or_the_option(run, tmp_path, capsys):
    assert cli.main(["annotate", str(DOC), "--report", str(run.report_path), "--format", "html"]) == run.codes[0]
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert cli.main(["annotate", str(DOC), "--report", str(run.report_path)]) == run.codes[0]
    assert capsys.readouterr().out == run.md
    cli.main(["annotate", str(DOC), "--report", str(run.report_path), "-o", str(tmp_path / "a.htm")])
    assert (tmp_path / "a.htm").read_text(encoding="utf-8") == run.html


def test_a_step_that_does_not_hold_exits_1(run, tmp_path):
    data = json.loads(json.dumps(run.report))
    step = next(s for d in data["derivations"] if d["source"] == DOC.name for s in d["steps"]
                if s["expected"] is None and isinstance(s["line"], int))
    step.update(status="unknown", met=False, method="timeout", detail="no decision within 1 s")
    report = tmp_path / "report.json"
    report.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "a.md"
    assert cli.main(["annotate", str(DOC), "--report", str(report), "-o", str(out)]) == 1
    line = out.read_text(encoding="utf-8").splitlines()[step["line"] - 1]
    assert "?" in {symbol for symbol, _ in MATH_MARK.findall(line) + PROSE_MARK.findall(line)}
    assert "no decision within 1 s" in out.read_text(encoding="utf-8")


def test_usage_errors_exit_2(run, tmp_path, capsys):
    assert cli.main(["annotate", str(tmp_path / "missing.md"), "--report", str(run.report_path)]) == 2
    assert "no such document" in capsys.readouterr().err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    assert cli.main(["annotate", str(DOC), "--report", str(garbage)]) == 2
    assert "cannot read the report" in capsys.readouterr().err
    garbage.write_text("[1, 2]", encoding="utf-8")
    assert cli.main(["annotate", str(DOC), "--report", str(garbage)]) == 2
    assert "not the JSON of `deriv verify --json`" in capsys.readouterr().err
    assert cli.main(["annotate", str(DOC), str(MODULE), "--report", str(run.report_path)]) == 2
    capsys.readouterr()
    copy = tmp_path / DOC.name
    shutil.copy(DOC, copy)
    assert cli.main(["annotate", str(copy), "--report", str(run.report_path), "-o", str(copy)]) == 2
    assert "would overwrite the document" in capsys.readouterr().err
    assert copy.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    unrelated = tmp_path / "unrelated.md"
    shutil.copy(DOC, unrelated)
    assert cli.main(["annotate", str(unrelated), "--report", str(run.report_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no derivation cites unrelated.md" in err
    for source in {d["source"] for d in run.report["derivations"]}:
        assert source in err


def report_of(steps: list[dict], source: str) -> dict:
    full = [{"index": k, "relation": "eq", "status": "proved", "expected": None, "met": True,
             "method": "cancel", "detail": "", "counterexample": None, "correction_of": None, "note": None,
             "lhs": "a", "rhs": "b", "evidence": {}, **s} for k, s in enumerate(steps, start=1)]
    return {"derivations": [{"id": "demo/placement", "title": "", "source": source, "file": "demo.py",
                             "passed": True, "steps": full}], "load_errors": []}


PLACEMENT = """\
Some prose with a hard break{hard}

\\[
a + b = c % a TeX comment
\\]

$$\\begin{{align}}
x &= y^
{{2}} + z \\\\
&= w
\\end{{align}}$$

```
code = 1
```
$$ u = v $$ and prose after it

| a | b |
|---|---|
| 1 | 2 |

## A heading ##
a backslash break\\
next
"""


def test_where_marks_go_in_prose_math_and_code(tmp_path):
    doc = tmp_path / "placement.md"
    doc.write_text(PLACEMENT.format(hard="  "), encoding="utf-8")
    report = tmp_path / "report.json"
    cited_lines = [1, 2, 4, 8, 9, 10, 14, 16, 20, 22, 23]
    report.write_text(json.dumps(report_of([{"line": n} for n in cited_lines], doc.name)), encoding="utf-8")
    out = tmp_path / "out.md"
    assert cli.main(["annotate", str(doc), "--report", str(report), "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    mark = "\\text{✓}^{\\text{[%d]}}"
    assert lines[0] == "Some prose with a hard break ✓[^L1]  "             # the hard break stays last
    assert lines[1] == ""                                                  # a blank line cannot hold one
    assert lines[3] == "a + b = c \\qquad" + mark % 4 + " % a TeX comment"  # not commented out
    assert lines[7] == mark % 8 + "\\qquad x &= y^"                         # y^{2}: not y^{mark}
    assert lines[8] == "{2} + z \\qquad" + mark % 9 + " \\\\"
    assert lines[9] == "&= w \\qquad" + mark % 10
    assert lines[13] == "code = 1  ✓[14]"
    assert lines[15] == "$$ u = v $$ and prose after it ✓[^L16]"
    assert lines[19] == "| 1 | 2  ✓[^L20]|"                         # in the last cell, not after it
    assert lines[21] == "## A heading ✓[^L22] ##"
    assert lines[22] == "a backslash break ✓[^L23]\\"
    tail = "\n".join(lines[25:])
    assert re.search(r"^- line 2 \(no mark in the line: a blank line, .*\): ✓\[\^L2\]", tail, re.M)
    for n in cited_lines:
        assert f"[^L{n}]: **line {n} · ✓ proved**" in tail
    page = tmp_path / "out.html"
    assert cli.main(["annotate", str(doc), "--report", str(report), "-o", str(page)]) == 0
    parser = Marks()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.marks == Counter((n, "✓") for n in cited_lines)


SUGGESTION = {"kind": "sign", "summary": "the sides differ by a sign", "residual": "2*x",
              "suggestion": {"edit": "negate the right-hand side", "rhs": "-x", "relation": "eq",
                             "status": "proved", "method": "cancel"}}


@pytest.mark.parametrize("written_as", ["mapping", "frozen repr"])
def test_a_suggestion_stands_in_for_a_missing_correction(tmp_path, written_as):
    """evidence["diagnosis"]["suggestion"] is deriv's nearest correct step; a report written
    while nested evidence was frozen holds the mapping's repr, which must read the same."""
    diagnosis = SUGGESTION if written_as == "mapping" else \
        str(SUGGESTION).replace("'suggestion': {", "'suggestion': mappingproxy({").replace("}}", "})}")
    doc = tmp_path / "s.md"
    doc.write_text("A claim: x equals minus x.\n", encoding="utf-8")
    report = tmp_path / "report.json"
    report.write_text(json.dumps(report_of([{
        "line": 1, "status": "refuted", "expected": "refuted", "met": True, "method": "numeric-80dps",
        "counterexample": {"x": 0.5}, "note": "a sign", "lhs": "x", "rhs": "x",
        "evidence": {"lhs_value": "0.5", "rhs_value": "-0.5", "difference": "1.0", "diagnosis": diagnosis}}],
        doc.name)), encoding="utf-8")
    out = tmp_path / "s.annotated.md"
    assert cli.main(["annotate", str(doc), "--report", str(report), "-o", str(out)]) == 0
    md = out.read_text(encoding="utf-8")
    assert md.splitlines()[0] == "A claim: x equals minus x. ✗[^L1]"
    assert "did you mean = -x (negate the right-hand side; proved: cancel)" in footnote(md, "L1")
    assert re.search(r"^- line 1: ✗ .* — did you mean `= -x`$", md, re.M)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("scripts", [True, False])
def test_a_browser_renders_the_page(run, tmp_path, scripts):
    """A headless screenshot, and the badges in the page a browser built. Without network MathJax
    does not load either way; "scripts off" is the page without its two script elements (headless
    chromium cannot run with scripting disabled)."""
    page = run.html_path
    if not scripts:
        page = tmp_path / "no-scripts.html"
        page.write_text(re.sub(r"<script\b.*?</script>", "", run.html, flags=re.S), encoding="utf-8")
        assert "<script" not in page.read_text(encoding="utf-8")
    png = tmp_path / "page.png"
    flags = ["--headless", "--disable-gpu", "--no-sandbox", "--window-size=1000,1400"]
    subprocess.run(["/usr/bin/chromium", *flags, f"--screenshot={png}", page.as_uri()], capture_output=True,
                   timeout=180)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    dom = subprocess.run(["/usr/bin/chromium", *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=180).stdout
    parser = Marks()
    parser.feed(dom)
    placed, _ = cited(run.report, len(doc_lines()))
    assert parser.marks == placed
    if not scripts:  # the LaTeX as text (with network and scripts, MathJax would typeset it)
        assert html.escape("\\log(x^2 y) &= \\log(x^2) + \\log(y)") in dom
