"""Reading derivations from a Markdown/LaTeX document: blocks, rows, relations, lines,
declarations (front matter and sidecar), and the verdicts of a whole fixture document."""
import json
from pathlib import Path

import pytest
import sympy as sp

from deriv import document
from deriv.document import (Declarations, DocumentError, display_blocks, piece_of, read,
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
