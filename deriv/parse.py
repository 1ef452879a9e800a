"""Expressions from text without running any code: `deriv check "lhs" "rhs"`.

sympy's `sympify`/`parse_expr` end in Python's `eval`, so a string from a command line (or a
document, or a CI configuration) could run arbitrary code through them. Here the text is parsed
with Python's own `ast` module -- which only builds a syntax tree -- and the tree is translated
node by node into sympy objects: numbers, names (symbols), the arithmetic operators, and calls
of a fixed table of mathematical functions. Anything else (attributes, subscripts, lambdas,
comprehensions, keyword arguments, strings, calls of other names) is rejected with a message
naming it. `^` is read as a power, as mathematicians write it.
"""
from __future__ import annotations

import ast
from typing import Mapping

import sympy as sp

FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "cbrt": sp.cbrt, "root": sp.root,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "atan2": sp.atan2,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "asinh": sp.asinh, "acosh": sp.acosh,
    "atanh": sp.atanh, "Abs": sp.Abs, "abs": sp.Abs, "sign": sp.sign, "floor": sp.floor,
    "ceiling": sp.ceiling, "Max": sp.Max, "max": sp.Max, "Min": sp.Min, "min": sp.Min,
    "gamma": sp.gamma, "loggamma": sp.loggamma, "digamma": sp.digamma, "erf": sp.erf, "erfc": sp.erfc,
    "factorial": sp.factorial, "binomial": sp.binomial, "besselj": sp.besselj,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "e": sp.E, "I": sp.I, "oo": sp.oo, "inf": sp.oo}
BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
          ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}
MAX_LENGTH = 10_000
MAX_EXPONENT = 10_000  # 2**10**10 would be a denial of service, not a derivation
EAGER = ("factorial", "binomial", "gamma", "loggamma")  # sympy evaluates these at once


class ParseError(ValueError):
    """The text is not an expression deriv reads (with the reason and the offending part)."""


def parse(text: str, symbols: Mapping[str, sp.Symbol] | None = None,
          default: Mapping[str, bool] | None = None) -> sp.Expr:
    """The sympy expression written in `text`.

    `symbols` maps names to the symbols to use (with their assumptions); another name becomes a
    new symbol with the `default` assumptions (real, unless told otherwise)."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression longer than {MAX_LENGTH} characters")
    try:
        # `^` is a power, binding like `**` (Python's own `^` binds more loosely than `+`)
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"not an expression: {exc.msg} at column {exc.offset} of {text!r}") from None
    table = dict(symbols or {})
    assumptions = dict(default if default is not None else {"real": True})
    return _build(tree.body, table, assumptions, text)


def _build(node: ast.AST, table: dict, assumptions: dict, text: str) -> sp.Expr:
    def again(child):
        return _build(child, table, assumptions, text)

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ParseError(f"{node.value!r} is not a number")
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(repr(node.value))
    if isinstance(node, ast.Name):
        if node.id in table:
            return table[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ParseError(f"{node.id} is a function: write {node.id}(...)")
        table[node.id] = sp.Symbol(node.id, **assumptions)
        return table[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = again(node.left), again(node.right)
        if isinstance(node.op, ast.Pow) and right.is_number and right.is_finite \
                and abs(right) > MAX_EXPONENT:
            raise ParseError(f"exponent {right} is larger than {MAX_EXPONENT}")
        return BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = again(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ParseError(f"unknown function {name!r}; known: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            raise ParseError(f"keyword arguments are not read: {ast.unparse(node)}")
        args = [again(a) for a in node.args]
        if node.func.id in EAGER and any(a.is_number and a.is_finite and abs(a) > MAX_EXPONENT for a in args):
            raise ParseError(f"{ast.unparse(node)}: argument larger than {MAX_EXPONENT}")
        return FUNCTIONS[node.func.id](*args)
    raise ParseError(f"{ast.unparse(node)!r} is not part of an expression deriv reads "
                     "(numbers, names, + - * / ** ^, and calls of mathematical functions)")


def parse_symbol_spec(spec: str) -> tuple[str, dict]:
    """'x:positive' -> ('x', {'positive': True}); 'n:integer,nonnegative' likewise."""
    name, _, kinds = spec.partition(":")
    name = name.strip()
    if not name.isidentifier():
        raise ParseError(f"{name!r} is not a symbol name")
    flags = {}
    for kind in filter(None, (k.strip() for k in kinds.split(","))):
        if kind not in ("real", "positive", "negative", "nonnegative", "nonpositive", "integer", "complex"):
            raise ParseError(f"unknown assumption {kind!r} for {name}")
        if kind != "complex":
            flags[kind] = True
    if not kinds:
        flags = {"real": True}
    return name, flags
