"""Reading derivations from a Markdown/LaTeX document: blocks, rows, relations, lines,
declarations (front matter and sidecar), and the verdicts of a whole fixture document."""
import json
from pathlib import Path

import pytest
import sympy as sp

from deriv import document
from deriv.document import (DocumentError, display_blocks, piece_of, read,
                            read_declarations, split_relations, split_rows)

FIXTURES = Path(__file__).parent / "fixtures" / "documents"


def _blocks(text):
    return list(display_blocks(piece_of(text)))


def test_display_blocks_of_every_kind_with_their_lines():
    text = ("prose $x = 1$ inline is not display\n"
            "$$ a = b $$\n"
            "\\[\n c = d \n\\]\n"
            "\\begin{equation}\n e = f\n\\end{equation}\n"
            "\\begin{align*}\n g &= h\n\\end{align*}\n"
            "```\n$$ 1 = 2 $$\n```\n")
    blocks = _blocks(text)
    assert [(b.start, b.end) for b in blocks] == [(2, 2), (3, 5), (6, 8), (9, 11)]
    assert [" ".join(b.body.text.split()) for b in blocks] == ["a = b", "c = d", "e = f", "g &= h"]


def test_outer_environment_inside_dollars_is_stripped():
    (block,) = _blocks("$$\\begin{align}\nA &= B \\\\\n&= C\n\\end{align}$$\n")
    rows = split_rows(block.body)
    assert [" ".join(r.text.split()) for r in rows] == ["A &= B", "&= C"]
    assert [r.line_at(0) for r in rows] == [2, 3]


def test_rows_split_only_at_top_level():
    body = piece_of("A &= \\left[ \\begin{aligned} &x \\\\ &+ y \\end{aligned} \\right] \\\\\n&= {a \\\\ b}")
    assert len(split_rows(body)) == 2


def test_relations_split_at_top_level_with_their_spelling_and_lines():
    row = piece_of("  f(x) &\\leq \\sum_{n=1}^{3} n \n   &\\approx 7 > 2", first_line=10)
    parts = split_relations(row)
    assert [p.relation for p in parts] == [None, "le", "approx", "gt"]
    assert [" ".join(p.expr.text.split()) for p in parts] == ["f(x)", "\\sum_{n=1}^{3} n", "7", "2"]
    assert [p.expr.line_at(0) for p in parts] == [10, 10, 11, 11]


def test_left_and_le_are_different_commands():
    parts = split_relations(piece_of("\\left( a \\right) \\le b"))
    assert [p.relation for p in parts] == [None, "le"]


def test_unchecked_relations_are_recognised():
    parts = split_relations(piece_of("a \\ne b"))
    assert parts[1].relation == "unchecked" and parts[1].spelling == "\\ne"


def test_labels_and_tags_are_not_expressions():
    parts = split_relations(piece_of("a = b \\label{eq:one} \\nonumber"))
    assert " ".join(parts[1].expr.text.split()) == "b"


def test_front_matter_declarations(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("---\ntitle: t\nderiv:\n  symbols: {x: positive, n: 'integer, nonnegative'}\n"
                   "  domain: {x: [0.5, 2]}\n  define: {\"s(x)\": \"1/(1 + exp(-x))\"}\n"
                   "  params: [x]\n  discrete: {z: 3}\n---\n$$ x = x $$\n")
    decl = read_declarations(doc, doc.read_text())
    assert decl.symbols["x"].is_positive and decl.symbols["n"].is_integer
    assert decl.domain == {"x": (0.5, 2.0)}
    assert decl.functions["s"](sp.Integer(0)) == sp.Rational(1, 2)
    assert decl.params == ("x",) and decl.discrete == {"z": 3}


@pytest.mark.parametrize("yaml_text, message", [
    ("deriv:\n  symbolz: {x: real}\n", "unknown key"),
    ("deriv:\n  symbols: {x: realish}\n", "unknown assumption"),
    ("deriv:\n  domain: {x: 3}\n", "expected [low, high]"),
    ("deriv:\n  define: {\"s(x)\": \"__import__('os')\"}\n", "define s(x)"),
    ("deriv: [1, 2\n", "cannot be read"),
])
def test_bad_declarations_are_clear_errors(tmp_path, yaml_text, message):
    doc = tmp_path / "post.md"
    doc.write_text("$$ x = x $$\n")
    (tmp_path / "post.deriv.yaml").write_text(yaml_text)
    with pytest.raises(DocumentError, match="post.deriv.yaml") as caught:
        read_declarations(doc, doc.read_text())
    assert message in str(caught.value)


# -- whole documents through the command line -------------------------------------------------

def _deriv(*args, cwd, cache):
    import os
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "deriv", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "COLUMNS": "160", "DERIV_CACHE_DIR": str(cache)})


def _by_line(report):
    return {(s["line"], s["relation"]): s for d in report["derivations"] for s in d["steps"]}


@pytest.fixture(scope="module")
def notes_report(tmp_path_factory):
    """`deriv verify notes.md --json`, run once for the tests below."""
    folder = tmp_path_factory.mktemp("notes")
    out = folder / "notes.json"
    run = _deriv("verify", str(FIXTURES / "notes.md"), "--json", str(out), "-j", "2",
                 cwd=folder, cache=folder / "cache")
    return run, json.loads(out.read_text())


def test_document_steps_have_the_lines_of_their_right_hand_sides(notes_report):
    _, report = notes_report
    assert sorted(_by_line(report)) == [
        (16, "eq"), (17, "eq"), (18, "le"), (24, "eq"), (29, "eq"), (32, "eq"), (36, "eq"), (38, "limit"),
        (42, "eq"), (46, "ge"), (48, "approx"), (54, "eq"), (55, "unreadable"), (57, "eq")]


def test_document_true_steps_hold_and_false_ones_are_refuted_with_certificates(notes_report):
    run, report = notes_report
    steps = _by_line(report)
    for key in [(16, "eq"), (17, "eq"), (18, "le"), (29, "eq"), (32, "eq"), (36, "eq"), (38, "limit"),
                (54, "eq"), (57, "eq")]:
        assert steps[key]["status"] in ("proved", "numeric"), (key, steps[key]["detail"])
    for key in [(24, "eq"), (42, "eq"), (46, "ge")]:
        step = steps[key]
        assert step["status"] == "refuted", (key, step["detail"])
        assert step["counterexample"] and step["certificate"]["certified"], key
    assert run.returncode == 1, run.stdout[-2000:]


def test_near_miss_in_a_tiny_domain_is_refuted_at_high_precision(notes_report):
    # sqrt(1+u) = 1 + u/2 - u^2/8 for u in (1e-9, 1e-7): off by ~u^3/16 < 1e-22, invisible in float64
    _, report = notes_report
    step = _by_line(report)[(42, "eq")]
    assert step["status"] == "refuted"
    assert 1e-9 <= step["counterexample"]["u"] <= 1e-7


def test_unreadable_line_is_an_error_quoting_the_latex_and_the_chain_goes_on(notes_report):
    _, report = notes_report
    steps = _by_line(report)
    bad = steps[(55, "unreadable")]
    assert bad["status"] == "error" and "\\weird{x}" in bad["detail"]
    assert steps[(57, "eq")]["lhs"].replace(" ", "") in ("x**2-1", "x*x-1")


def test_approximation_is_reported_not_refuted(notes_report):
    _, report = notes_report
    step = _by_line(report)[(48, "approx")]
    assert step["status"] != "refuted" and step["met"]


def test_document_notes_say_how_it_was_read(notes_report):
    run, report = notes_report
    notes = report["derivations"][0]["notes"]
    assert any("front matter" in n for n in notes)
    assert "1 skipped" in notes[0]
    assert "read from notes.md" in run.stdout


def test_sidecar_declarations_and_skipped_lines(tmp_path):
    out = tmp_path / "sidecar.json"
    run = _deriv("verify", str(FIXTURES / "sidecar.md"), "--json", str(out), cwd=tmp_path, cache=tmp_path / "c")
    report = json.loads(out.read_text())
    steps = _by_line(report)
    assert steps[(5, "eq")]["status"] == "proved"
    assert steps[(7, "ge")]["status"] in ("proved", "numeric")
    assert steps[(9, "le")]["status"] == "refuted"
    assert (11, "eq") not in steps  # skipped, with the reason, in the notes
    assert "sidecar.deriv.yaml" in " ".join(report["derivations"][0]["notes"])
    assert run.returncode == 1


def test_undeclared_symbols_are_said_once(tmp_path):
    out = tmp_path / "u.json"
    run = _deriv("verify", str(FIXTURES / "undeclared.md"), "--json", str(out), cwd=tmp_path, cache=tmp_path / "c")
    assert run.returncode == 0, run.stdout[-2000:]
    assert "undeclared symbol(s) p, q" in run.stdout
    assert run.stdout.count("undeclared symbol") == 1


def test_extracted_module_gives_the_same_verdicts(notes_report, tmp_path):
    _, report = notes_report
    module = tmp_path / "notes_extracted.py"
    made = _deriv("extract", str(FIXTURES / "notes.md"), "-o", str(module), cwd=tmp_path, cache=tmp_path / "c")
    assert made.returncode == 0, made.stderr
    assert "# 55:" in module.read_text()
    out = tmp_path / "x.json"
    _deriv("verify", str(module), "--json", str(out), "-j", "2", cwd=tmp_path, cache=tmp_path / "c")
    again = json.loads(out.read_text())
    verdicts = {k: s["status"] for k, s in _by_line(report).items()}
    assert {k: s["status"] for k, s in _by_line(again).items()} == verdicts


def test_sections_override_declarations_for_their_lines(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("$$ x = x $$\n")
    (tmp_path / "post.deriv.yaml").write_text(
        "deriv:\n  symbols: {x: real}\n  domain: {x: [0, 1]}\n"
        "  sections:\n    - {lines: [10, 20], discrete: {x: 3}, domain: {y: [1, 2]}}\n")
    decl = read_declarations(doc, doc.read_text())
    assert decl.at(5) is decl and decl.at(15).discrete == {"x": 3}
    assert decl.at(15).domain == {"x": (0.0, 1.0), "y": (1.0, 2.0)}


def test_equals_inside_parentheses_is_not_a_relation():
    parts = split_relations(piece_of("c + E_{p(x)}[ \\log q(y=x|x)] = d"))
    assert [p.relation for p in parts] == [None, "eq"]


def test_c_plus_is_a_step_up_to_a_constant_in_the_parameters(tmp_path):
    out = tmp_path / "c.json"
    run = _deriv("verify", str(FIXTURES / "constant.md"), "--json", str(out), cwd=tmp_path, cache=tmp_path / "c")
    steps = _by_line(json.loads(out.read_text()))
    assert steps[(8, "const")]["status"] == "proved" and steps[(9, "const")]["status"] == "proved"
    assert steps[(13, "const")]["status"] == "refuted"
    assert run.returncode == 1


def test_c_plus_without_parameters_is_an_error_saying_what_to_declare(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("$$ (m - x)^2 = c + m^2 - 2 m x $$\n")
    (step,) = read(doc).derivations[0].steps
    assert step.kind == "unreadable" and "params" in step.note


def test_a_row_naming_an_undeclared_quantity_is_a_definition_not_a_claim(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("$$\n\\begin{align}\nL_3 &= (m - 1)^2 \\\\\n&= m^2 - 2m + 1 \\\\\n"
                   "L_3 + 1 &= m^2 - 2m + 2\n\\end{align}\n$$\n")
    reading = read(doc)
    steps = reading.derivations[0].steps
    assert [(s.line, s.relation) for s in steps] == [(4, "eq"), (5, "eq")]
    assert steps[1].lhs == (document.sp.Symbol("m", real=True) - 1) ** 2 + 1  # L_3 stands for its value
    assert (3, "definition of L_3") in reading.skipped


def test_rows_continued_by_an_operator_and_a_heading_row(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("$$\n\\begin{align}\n& (x + 1)^2 - 1\n\\\\ &= x^2 + 2x + 1\n\\\\ &- 1 \\\\\n&= x (x + 2)\n"
                   "\\end{align}\n$$\n")
    steps = read(doc).derivations[0].steps
    assert [(s.line, s.relation) for s in steps] == [(4, "eq"), (6, "eq")]
    x = document.sp.Symbol("x", real=True)
    assert steps[0].lhs == (x + 1) ** 2 - 1 and steps[0].rhs == x ** 2 + 2 * x


def test_annotate_marks_the_document_from_its_own_report(notes_report, tmp_path):
    _, report = notes_report
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(report))
    out = tmp_path / "notes.annotated.md"
    run = _deriv("annotate", str(FIXTURES / "notes.md"), "--report", str(saved), "-o", str(out),
                 cwd=tmp_path, cache=tmp_path / "c")
    assert run.returncode in (0, 1), run.stderr
    lines = out.read_text().split("\n")
    assert "✓" in lines[15] and "✗" in lines[23] and "!" in lines[54]  # lines 16, 24, 55


def test_a_document_with_broken_declarations_is_a_load_error_and_the_rest_is_checked(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nderiv:\n  symbols: {x: [\n---\n$$ x = x $$\n")
    out = tmp_path / "r.json"
    run = _deriv("verify", str(bad), str(FIXTURES / "undeclared.md"), "--json", str(out), cwd=tmp_path,
                 cache=tmp_path / "c")
    assert run.returncode == 2
    report = json.loads(out.read_text())
    assert "bad.md" in report["load_errors"][0]["message"] and "YAML" in report["load_errors"][0]["message"]
    assert report["derivations"][0]["steps"][0]["status"] == "proved"


def test_a_crash_of_the_latex_reader_costs_one_line_not_the_document(tmp_path, monkeypatch):
    from deriv import latex
    real = latex.parse

    def flaky(text, context):
        if "boom" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(text, context)

    monkeypatch.setattr(latex, "parse", flaky)
    doc = tmp_path / "post.md"
    doc.write_text("$$ boom = 1 $$\n\n$$ (a + 1)^2 = a^2 + 2a + 1 $$\n")
    steps = [s for d in read(doc).derivations for s in d.steps]
    assert steps[0].kind == "unreadable" and "RecursionError" in steps[0].note
    assert steps[-1].relation == "eq" and steps[-1].line == 3


def test_a_defined_constant_reads_as_its_value(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("---\nderiv:\n  define: {k: \"2\"}\n---\n$$ k x = 2 x $$\n")
    (step,) = read(doc).derivations[0].steps
    assert step.lhs == step.rhs


def test_latex_file_comments_are_not_read(tmp_path):
    doc = tmp_path / "notes.tex"
    doc.write_text("\\section{A}\n\\begin{equation}\n(a+1)^2 = a^2 + 2a + 1 % = a^2 + 1 (wrong, commented out)\n"
                   "\\end{equation}\n")
    steps = [s for d in read(doc).derivations for s in d.steps]
    assert [(s.line, s.relation) for s in steps] == [(3, "eq")]
    assert steps[0].rhs == sp.expand((sp.Symbol("a", real=True) + 1) ** 2)


def test_probability_notation_from_a_document(tmp_path):
    # CE = -Σ p log q = Σ p log(p/q) - Σ p log p = KL + H ≥ H, and line 93's sign error refuted
    out = tmp_path / "kl.json"
    run = _deriv("verify", str(FIXTURES / "kl.md"), "--json", str(out), cwd=tmp_path, cache=tmp_path / "c")
    steps = _by_line(json.loads(out.read_text()))
    assert all(steps[(line, "eq")]["status"] == "proved" for line in (7, 8, 9))
    assert steps[(10, "ge")]["status"] in ("proved", "numeric")
    assert steps[(14, "eq")]["status"] == "refuted" and steps[(14, "eq")]["counterexample"]
    assert run.returncode == 1
