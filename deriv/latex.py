r"""Read one LaTeX math expression (no relation symbol in it) into a sympy expression.

`parse(latex, context)` tokenises the LaTeX, matches its brackets into a tree, normalises the
tree, and then reads it: every name, number and construct with a meaning of its own (integrals,
derivatives, sums, limits, functions, probability notation) becomes a sympy value held in a
*slot*, and what is left -- `+ - * / \cdot \times \div ^ ! \frac` and juxtaposition over
slots -- goes to sympy's own `parse_latex(..., backend="antlr", strict=True)`. parse_latex
never sees a letter, so none of its letter-level traps (below) can fire.

Readings the normaliser makes, each a choice between readings a careful reader could make:

Layout
- Spacing and decoration are dropped: `\, \; \: \! \quad \qquad ~ \displaystyle \textstyle
  \nonumber \notag \limits`, alignment `&`, line breaks `\\`, a `\` before a space or newline
  (a line continuation), `\begin{aligned}`/`\end{aligned}` (and align, gathered, split,
  equation), `\label{..}`, `\tag{..}`, trailing `.` and `,`.
- `\left \right \big \Big \bigg \Bigg` (and their l/r/m forms) are dropped, keeping the
  delimiter; `\left.`/`\right.` vanish; `\left| ... \right|` is an absolute value.
- `( )`, `[ ]` and `\{ \}` group like parentheses; `{ }` groups. A `[F]` with both a sub- and
  a superscript, `[F]^b_a` or `\left[F\right]_a^b`, is an evaluation bracket (below).
- Bars `|a|` pair up left to right into absolute values, unless a group holds an odd number
  of them or two adjacent ones (`p(y|x)`, `KL(p||q)`): those are conditional / KL bars.
- `{a \over b}` is `\frac{a}{b}` of the whole enclosing group (TeX's rule).
- `\text{..}`, `\mathrm{..}`, `\operatorname{..}` (starred too), `\textrm`, `\mathit` around
  a function name (log, exp, sin, ..., lim) are that function; `\mathrm{e}` is `e`,
  `\mathrm{d}` is `d`; around a longer word (`p_{\mathrm{data}}`, `D_{\text{KL}}`) they make
  one name of it.
- `\mathbb{E}` / `\mathbb E` is the expectation E; `\mid` and `\vert` are `|`; `\dfrac`,
  `\tfrac` are `\frac`; `\rightarrow` is `\to`.

Names and numbers
- Letters juxtaposed are a product (`mx` = m·x); `\theta` is the name `theta`. A name with a
  subscript made of letters, digits and Greek letters is ONE name: `x_i`, `x_{12}`,
  `p_{data}` -> `p_data`, `\theta_{Brewster}` -> `theta_Brewster`.
- A name resolves to: the discrete variable of `context.discrete` (a `deriv.prob` index);
  `e` -> Euler's number unless `context.e_is_symbol`; the declared symbol of
  `context.symbols` (the same object); else a new symbol with `context.default_assumptions`,
  its name added to `context.undeclared`. `\pi` is π, `\infty` is ∞.
- A decimal like `0.5` is the exact rational 1/2.
- Juxtaposition binds tighter than `/`, `\cdot`, `\times` (parse_latex's grammar):
  `a / b c` = a/(b·c).

Application
- `f(a)` with `f` in `context.functions` is the Lambda applied to `a` (`f_m(x)` when `f_m` is
  declared). A declared function without parentheses is an error.
- `m(a)` with `m` not a declared function is the product m·(a) -- except a name applied to
  discrete variables, which is a probability table (below). `m(a, b)` is an error.
- `\log`, `\ln` (natural logarithm; `\log_b` to base b), `\exp`, the trigonometric and
  hyperbolic functions: a parenthesised (or bracketed) argument right after the function is
  its argument, `\log(x) y` = log(x)·y. Otherwise:
  * `\log`/`\ln` take the whole product up to the next + or − of the same group:
    `\log m\exp(mx) - 1` = log(m·exp(mx)) − 1 (parse_latex itself reads log(m)·exp(mx));
  * every other function takes exactly one factor with its exponent: `\exp m - 1` =
    exp(m) − 1, `\exp m (1-\exp m)` = exp(m)·(1 − exp(m)), `\exp x^2` = exp(x²); the factor
    may be a function application, `\exp \log a b` = exp(log(a·b));
    `\exp mx` or `\exp 2x` is an error (ambiguous), `\exp{mx}` is exp(mx).
  `\sin^2 x` = sin(x)², `\sin^{-1}` is an error (write `\arcsin`).

Operators and their extent -- the TERM rule: a prefix operator applies to everything after it
up to the next + or − at the same nesting level (leading signs belong to it; an integral's
integrand and every bracket are opaque to the search). It applies to
`\frac{d}{dx}`, `\frac{\partial}{\partial m}`, `{\partial \over \partial m}`, `\sum`, `\prod`,
`\lim`, `E_{p}` without brackets, and `\log` as said above:
`{\partial \over \partial m} \int f dx \, g + 1` = ∂/∂m(∫f dx · g) + 1.
- Derivatives: `\frac{d}{dx} g`, `\frac{d^2}{dx^2} g`, `\frac{dg}{dx}`, `\frac{d^2 g}{dx^2}`,
  `\frac{\partial^2}{\partial x \partial y} g` -> unevaluated `sympy.Derivative`; the orders of
  numerator and denominator must agree.
- Integrals: `\int_a^b g \, dx` -> unevaluated `sympy.Integral`. The integrand runs to the
  first differential `d<name>` or `d(...)` of the same group (skipping those of nested
  integrals): inside an integral, a `d` followed by a name is the differential. Without limits,
  the limits come from `context.integral_limits[x]` (else an error). `d(u)` with u = u(x) is the
  Stieltjes reading ∫ g d(u) = ∫ g · du/dx dx, the limits belonging to x: x is the one symbol of
  u in `context.integral_limits` (or u's only symbol when the limits are explicit).
- Evaluation bracket `[F]^b_a` = F(b) − F(a) in the one variable of `context.integral_limits`
  that F contains (none or several: an error).
- `\sum_{n=a}^{b} g` / `\prod_{n=a}^{b} g` -> `Sum`/`Product`; `\lim_{x \to a} g` ->
  unevaluated `Limit` (two-sided; `\to a^+`, `a^-` one-sided). `\sqrt{x}`, `\sqrt[n]{x}`.

Probability notation (`deriv.prob`), for the variables of `context.discrete`:
- `\sum_x g`, `\sum_{x}`, `\sum_{x,z}` -> `S(g, x, ...)`, Σ over the support; the body by the
  TERM rule, so `\sum_x p \log q - \sum_x p \log p` is two sums. A following term that still
  depends on x (`\sum_x p(x) A(x) + B(x)`) is ambiguous -- inside the sum, or outside with a
  free x? -- and refused: add parentheses.
- A name applied to discrete variables is a table entry: `p(x)` -> Table("p", x)(x),
  `q(z|x)` -> Table("q", z, given=x)(z, x), `p_{data}(y|x)`, `q_m(y|x)`; `p(x|z,m)` with one
  non-discrete symbol m among the given -> a table with `depends_on=m`. One table per signature
  ("q(z|x)") is created per Context and kept in `context.tables` (pre-populate it, keyed by the
  signature, to set `data=True`; or name it in `context.data`: a table named `*_data`, such as
  `p_{data}`, is data by default). `\delta(y|x)` is the Kronecker table `prob.delta`. Joint
  tables `p(x,z)` are not supported.
- `KL(P||Q)`, `KL(P \| Q)`, `D_{KL}(P||Q)` -> `KL(P, Q, vars)`; `CE(P, Q)` -> `CE`;
  `H(P)` -> `H`; `E_{P}[g]`, `\mathbb{E}_{P}[g]`, `E_P g` -> `E(P, g, vars)`. The summed
  variables are the first indices of the tables in P that are free in P (not summed inside
  it). A bare table name P = `p` is the table named p already read
  (`D_{KL}(p(x)||q(x)) + H(p)`), or, with a single discrete variable x, the table p(x).
  `H(f)` for a declared one-variable function is the differential entropy ∫ −f log f dx over
  `context.integral_limits`. `H(a)` on no distribution is the product H·a.
  (The support sizes in `context.discrete` are not used here: sizes are chosen per check.)

Refused with a LatexError rather than guessed: argmax/argmin/max/min/sup/inf, decorated names
(`\hat f`), the indicator `\mathbb 1`, primes, norms, `E[g]` without its distribution,
relation symbols, unknown commands, unbalanced brackets, and anything parse_latex cannot read
completely.

parse_latex traps this avoids (sympy 1.14, antlr backend): without strict=True trailing input
is dropped (`x -` -> x; sympy#17874, sympy#13706); multi-letter subscripts are products
(`V_{AB}` -> V_{A*B}, sympy#19662) and `p_{data}` lexes `da` as a differential; `d` followed by
a letter anywhere is a differential (`d \cdot 2` -> dcdot·2, sympy#26220); `\mathrm{d}x` is
mathrm·d·x (sympy#23551, sympy#27978); `m(x+1)` is an undefined function m (sympy#19676);
a bare `x` between two symbol-free factors is dropped as a times sign (`\frac12 x \frac13` ->
1/6); `\exp m (1-\exp m)` is exp(m(1 − exp m)); `\log m\exp(mx)` is log(m)·exp(mx); a
derivative `\frac{d}{dx} a \cdot b` takes only `a`; `\left| x \right|` does not parse; `\sum`
needs `_{n=a}^{b}`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.latex import parse_latex as _sympy_parse_latex

from . import prob


class LatexError(ValueError):
    """The LaTeX could not be read; str(exc) says why, quoting the offending text."""


@dataclass
class Context:
    symbols: dict[str, sp.Symbol] = field(default_factory=dict)   # declared symbols, by sympy name
    functions: dict[str, sp.Lambda] = field(default_factory=dict)  # user definitions, name -> Lambda
    integral_limits: dict[str, tuple] = field(default_factory=dict)  # variable name -> (a, b)
    discrete: dict[str, int] = field(default_factory=dict)         # discrete variable -> support size
    e_is_symbol: bool = False                                       # True only if `e` is declared
    default_assumptions: dict = field(default_factory=lambda: {"real": True})
    undeclared: set[str] = field(default_factory=set)               # OUT: names created with defaults
    data: set[str] = field(default_factory=set)  # tables that are data, not model (and any `*_data`)
    tables: dict[str, prob.Table] = field(default_factory=dict)     # IN/OUT: tables by signature


def parse(latex: str, context: Context) -> sp.Expr:
    """Raise LatexError when the text cannot be read completely and unambiguously."""
    try:
        items = _normalise(_tree(_strip(_tokenise(latex))))
        if not items:
            raise _Unreadable([], "there is no expression here")
        expr = _Reader(context).expression(items, items)
    except _Unreadable as problem:
        raise LatexError(problem.message(latex)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # sympy refusing a construct
        raise LatexError(f"could not read `{latex.strip()}`: {exc}") from exc
    if not isinstance(expr, sp.Expr):
        raise LatexError(f"could not read `{latex.strip()}`: it is not an expression "
                         f"({type(expr).__name__})")
    return expr


# -- problems -----------------------------------------------------------------------------------

class _Unreadable(Exception):
    """A reading failed at these nodes; `message` quotes their LaTeX."""

    def __init__(self, nodes, reason: str):
        super().__init__(reason)
        self.nodes = nodes if isinstance(nodes, list) else [nodes]
        self.reason = reason

    def message(self, source: str) -> str:
        if self.nodes:
            quoted = source[self.nodes[0].start:self.nodes[-1].end]
        else:
            quoted = source
        return f"could not read `{quoted.strip()}`: {self.reason}"


# -- tokens and the bracket tree ----------------------------------------------------------------

@dataclass
class _Tok:
    kind: str  # "cmd" (\name), "ctl" (\ and one character), "char", "word" (a name from \text{..})
    text: str
    start: int
    end: int


@dataclass
class _Group:
    open: str  # "{", "(" (also for \{ \}), "[", "|" (absolute value)
    items: list
    start: int
    end: int


@dataclass
class _Frac:
    num: list
    den: list
    start: int
    end: int


_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\\\Z|\s+|.", re.S)


def _tokenise(source: str) -> list[_Tok]:
    tokens = []
    for match in _TOKEN.finditer(source):
        text = match.group()
        if text.isspace():
            continue
        kind = "char" if text[0] != "\\" else "cmd" if text[1:2].isalpha() else "ctl"
        tokens.append(_Tok(kind, text, match.start(), match.end()))
    return tokens


_DROPPED_COMMANDS = {r"\quad", r"\qquad", r"\displaystyle", r"\textstyle", r"\nonumber", r"\notag",
                     r"\limits", r"\nolimits", r"\thinspace", r"\medspace", r"\thickspace",
                     r"\negthinspace"}
_SIZERS = {r"\left", r"\right"} | {size + side for size in (r"\big", r"\Big", r"\bigg", r"\Bigg")
                                   for side in ("", "l", "r", "m")}
_ALIASES = {r"\vert": ("char", "|"), r"\mid": ("char", "|"), r"\dfrac": ("cmd", r"\frac"),
            r"\tfrac": ("cmd", r"\frac"), r"\rightarrow": ("cmd", r"\to")}


def _is_spacing(tok: _Tok) -> bool:
    if tok.kind == "ctl":
        return tok.text[1:] in ("", ",", ";", ":", "!", "\\") or tok.text[1:].isspace()
    return tok.text in _DROPPED_COMMANDS or tok.text in ("~", "&")


def _strip(tokens: list[_Tok]) -> list[_Tok]:
    """Drop spacing and sizing; `\\left|`/`\\right|` become absolute-value bars."""
    out, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.text in _SIZERS:
            out.extend(_sized_delimiter(tok, tokens[i + 1] if i + 1 < len(tokens) else None))
            i += 2
            continue
        if not _is_spacing(tok):
            kind, text = _ALIASES.get(tok.text, (tok.kind, tok.text))
            out.append(_Tok(kind, text, tok.start, tok.end))
        i += 1
    while out and out[-1].text in (".", ","):  # sentence punctuation after the formula
        out.pop()
    return out


def _sized_delimiter(sizer: _Tok, delim: _Tok | None) -> list[_Tok]:
    if delim is None:
        raise _Unreadable(sizer, f"{sizer.text} needs a delimiter after it")
    span = (sizer.start, delim.end)
    if delim.text == ".":
        return []
    if delim.text in ("|", r"\vert"):
        side = "l" if sizer.text == r"\left" or sizer.text.endswith("l") else \
            "r" if sizer.text == r"\right" or sizer.text.endswith("r") else ""
        return [_Tok("cmd", rf"\{side}vert", *span) if side else _Tok("char", "|", *span)]
    if delim.text in (r"\|", r"\Vert"):
        raise _Unreadable([sizer, delim], "norms ‖…‖ are not supported")
    return [_Tok(delim.kind, delim.text, *span)]


_CLOSERS = {"{": "}", "(": ")", "[": "]", r"\{": r"\}", r"\lvert": r"\rvert"}
_GROUP_KIND = {"{": "{", "(": "(", "[": "[", r"\{": "(", r"\lvert": "|"}


def _tree(tokens: list[_Tok]) -> list:
    """Match the brackets: every bracket pair becomes a _Group."""
    stack: list[tuple[_Tok | None, list]] = [(None, [])]
    for tok in tokens:
        if tok.text in _CLOSERS:
            stack.append((tok, []))
        elif tok.text in _CLOSERS.values():
            opener, items = stack.pop() if len(stack) > 1 else (None, [])
            if opener is None or _CLOSERS[opener.text] != tok.text:
                raise _Unreadable([opener or tok, tok], f"`{tok.text}` does not close "
                                  + (f"`{opener.text}`" if opener else "anything"))
            stack[-1][1].append(_Group(_GROUP_KIND[opener.text], items, opener.start, tok.end))
        else:
            stack[-1][1].append(tok)
    if len(stack) > 1:
        opener = stack[-1][0]
        raise _Unreadable([opener, *stack[-1][1]] if stack[-1][1] else opener,
                          f"`{opener.text}` is never closed")
    return stack[0][1]


# -- normalising the tree --------------------------------------------------------------------------

_TEXT_COMMANDS = {r"\text", r"\mathrm", r"\operatorname", r"\textrm", r"\mathit"}
_DECORATIONS = {r"\hat", r"\widehat", r"\tilde", r"\widetilde", r"\bar", r"\overline", r"\vec",
                r"\dot", r"\ddot", r"\check", r"\breve"}
_ENVIRONMENTS = {"aligned", "align", "align*", "gathered", "gather", "gather*", "split",
                 "equation", "equation*"}
_NOT_EXPRESSIONS = {"argmax", "argmin", "max", "min", "sup", "inf", "arg"}


def _normalise(items: list) -> list:
    items = [_normalise_node(node) for node in items]
    items = _commands(items)
    items = _over(items)
    return _pair_bars(items)


def _normalise_node(node):
    if not isinstance(node, _Group):
        return node
    items = _normalise(node.items)
    if node.open == "{" and len(items) == 1 and isinstance(items[0], _Frac):
        return items[0]  # {a \over b} is the fraction itself
    return _Group(node.open, items, node.start, node.end)


def _argument(items: list, j: int, command: _Tok) -> list:
    """The items of a command's argument: a brace group's content, or one node."""
    if j >= len(items):
        raise _Unreadable(command, f"{command.text} needs an argument")
    node = items[j]
    return node.items if _is_group(node, "{") else [node]


def _commands(items: list) -> list:
    """Commands with arguments: \\frac, \\text-like, \\mathbb, \\begin/\\end, \\label, decorations."""
    out, i = [], 0
    while i < len(items):
        node = items[i]
        if not (isinstance(node, _Tok) and node.kind == "cmd"):
            out.append(node)
            i += 1
        elif node.text == r"\frac":
            num, den = _argument(items, i + 1, node), _argument(items, i + 2, node)
            if not num or not den:
                raise _Unreadable(items[i:i + 3], "an empty numerator or denominator")
            out.append(_Frac(num, den, node.start, items[i + 2].end))
            i += 3
        elif node.text in _TEXT_COMMANDS:
            if i + 1 < len(items) and _is_char(items[i + 1], "*"):  # \operatorname*{argmax}
                i += 1
            out.append(_word(node, _argument(items, i + 1, node), items[i + 1].end))
            i += 2
        elif node.text == r"\mathbb":
            out.append(_blackboard(node, _argument(items, i + 1, node), items[i + 1].end))
            i += 2
        elif node.text in (r"\begin", r"\end", r"\label", r"\tag"):
            _check_environment(node, _argument(items, i + 1, node))
            i += 2
        elif node.text in _DECORATIONS:
            quoted = [node, items[i + 1]] if i + 1 < len(items) else node
            raise _Unreadable(quoted, f"a decorated name ({node.text}) is not an expression deriv "
                              "can evaluate; declare it as a plain symbol")
        else:
            out.append(node)
            i += 1
    return out


def _text_of(argument: list) -> str:
    return "".join(t.text for t in argument if isinstance(t, _Tok))


def _word(command: _Tok, argument: list, end: int) -> _Tok:
    """\\text{log} is \\log, \\mathrm{e} is e, \\mathrm{data} is one name."""
    text, span = _text_of(argument), (command.start, end)
    if text in _NOT_EXPRESSIONS:
        raise _Unreadable(_Tok("span", "", *span), f"{text} is not an expression deriv can evaluate")
    if "\\" + text in _FUNCTIONS or text == "lim":
        return _Tok("cmd", "\\" + text, *span)
    if not text.isalnum() or len(text) != len(argument):
        raise _Unreadable(_Tok("span", "", *span), "this text is not mathematics deriv can read")
    return _Tok("char" if len(text) == 1 else "word", text, *span)


def _blackboard(command: _Tok, argument: list, end: int) -> _Tok:
    text, span = _text_of(argument), (command.start, end)
    if text == "E":
        return _Tok("char", "E", *span)
    what = "the indicator \\mathbb 1" if text == "1" else f"\\mathbb{{{text}}}"
    raise _Unreadable(_Tok("span", "", *span), f"{what} is not an expression deriv can evaluate")


def _check_environment(command: _Tok, argument: list) -> None:
    name = _text_of(argument)
    if command.text in (r"\begin", r"\end") and name not in _ENVIRONMENTS:
        raise _Unreadable(command, f"the environment {{{name}}} is not an expression")


def _over(items: list) -> list:
    """`a \\over b` makes the whole group a fraction."""
    overs = [k for k, node in enumerate(items) if _is_cmd(node, r"\over")]
    if not overs:
        return items
    if len(overs) > 1:
        raise _Unreadable(items, "two \\over in one group are ambiguous; use braces")
    k = overs[0]
    if k == 0 or k == len(items) - 1:
        raise _Unreadable(items, "\\over needs a numerator and a denominator")
    return [_Frac(items[:k], items[k + 1:], items[0].start, items[-1].end)]


def _pair_bars(items: list) -> list:
    """|a| pairs become absolute values where the bars cannot be conditional or KL bars."""
    bars = [k for k, node in enumerate(items) if _is_char(node, "|")]
    if not bars or len(bars) % 2 or any(b + 1 in bars for b in bars):
        return items
    out, k = [], 0
    for a, b in zip(bars[::2], bars[1::2]):
        out.extend(items[k:a])
        out.append(_Group("|", items[a + 1:b], items[a].start, items[b].end))
        k = b + 1
    return out + items[k:]


# -- small predicates and readers over item lists ----------------------------------------------

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
          "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma",
          "varsigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta",
          "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell", "pi"}


def _is_char(node, chars: str) -> bool:
    return isinstance(node, _Tok) and node.kind == "char" and node.text in chars


def _is_cmd(node, text: str) -> bool:
    return isinstance(node, _Tok) and node.text == text


def _is_group(node, opens: str) -> bool:
    return isinstance(node, _Group) and node.open in opens


def _is_digit(node) -> bool:
    return _is_char(node, "0123456789.")


def _simple_name(node) -> str | None:
    """The name a single token spells: a letter, a Greek letter, a \\text word, else None."""
    if not isinstance(node, _Tok):
        return None
    if node.kind == "char" and node.text.isalpha():
        return node.text
    if node.kind == "cmd" and node.text[1:] in _GREEK:
        return node.text[1:]
    return node.text if node.kind == "word" else None


@dataclass
class _Name:
    text: str               # the full name: "x", "theta", "p_data", "E_p"
    base: str               # the name without subscript
    sub: list | None        # the subscript's items, if any
    sub_is_name: bool       # the subscript is part of the name (x_i); else E_{p(x)}
    nodes: list             # for quoting


def _read_name(items: list, i: int) -> tuple[_Name, int]:
    """The name starting at items[i] (a _simple_name token) with its subscript."""
    base = _simple_name(items[i])
    if i + 1 < len(items) and _is_char(items[i + 1], "_"):
        if i + 2 >= len(items):
            raise _Unreadable(items[i:i + 2], "a subscript is missing")
        sub = items[i + 2].items if _is_group(items[i + 2], "{") else [items[i + 2]]
        parts = [_simple_name(n) or (n.text if _is_char(n, "0123456789") else None) for n in sub]
        if sub and all(parts):
            return _Name(f"{base}_{''.join(parts)}", base, sub, True, items[i:i + 3]), i + 3
        return _Name(base, base, sub, False, items[i:i + 3]), i + 3
    return _Name(base, base, None, False, items[i:i + 1]), i + 1


def _single_name(items: list) -> _Name | None:
    """The name an item list consists of (x, theta, p_data), else None."""
    if not items or not _simple_name(items[0]):
        return None
    ref, j = _read_name(items, 0)
    return ref if j == len(items) and (ref.sub is None or ref.sub_is_name) else None


def _number_end(items: list, i: int) -> int:
    j = i
    while j < len(items) and _is_digit(items[j]):
        j += 1
    return j


def _factor_end(items: list, j: int) -> int | None:
    """The end of one factor: a name, number, bracket, fraction or function application, with
    its exponent; None when no factor starts at j."""
    if j >= len(items):
        return None
    node = items[j]
    if isinstance(node, (_Group, _Frac)):
        k = j + 1
    elif _simple_name(node):
        k = _read_name(items, j)[1]
    elif _is_digit(node):
        k = _number_end(items, j)
    elif isinstance(node, _Tok) and node.text in _FUNCTIONS:
        k = _function_argument(items, _scripts(items, j + 1)[2], node)[1]
    else:
        return None
    return k + 2 if k + 1 < len(items) and _is_char(items[k], "^") else k


def _function_argument(items: list, j: int, function: _Tok) -> tuple[list, int]:
    """The argument of `function` starting at items[j], and its end (see the module docstring)."""
    after = items[j] if j < len(items) else None
    if _is_group(after, "(["):
        return after.items, j + 1
    if function.text in _PRODUCT_ARGUMENT:
        end = _term_end(items, j)
        return items[j:end], end
    end = _factor_end(items, j)
    if end is None and isinstance(after, _Tok) and after.text[1:] in _NOT_EXPRESSIONS:
        raise _Unreadable(after, _unknown(after))
    if end is None:
        raise _Unreadable(items[j - 1:j + 1], f"{function.text} needs an argument: "
                          f"write {function.text}(...)")
    delimited = isinstance(items[j], (_Group, _Frac))
    if not delimited and end < len(items) and (_simple_name(items[end]) or _is_digit(items[end])):
        raise _Unreadable(items[j - 1:end + 1], f"the argument of {function.text} is ambiguous: "
                          f"write {function.text}(...) around it")
    return items[j:end], end


def _scripts(items: list, j: int) -> tuple[list | None, list | None, int]:
    """A subscript and a superscript in either order after position j: (lower, upper, end)."""
    found = {}
    while j < len(items) and _is_char(items[j], "_^") and items[j].text not in found:
        if j + 1 >= len(items):
            raise _Unreadable(items[j], f"`{items[j].text}` needs an argument")
        found[items[j].text] = items[j + 1].items if _is_group(items[j + 1], "{") else [items[j + 1]]
        j += 2
    return found.get("_"), found.get("^"), j


def _split(items: list, separator: str) -> list[list]:
    """The items split at top-level char tokens `separator`."""
    parts = [[]]
    for node in items:
        if _is_char(node, separator):
            parts.append([])
        else:
            parts[-1].append(node)
    return parts


def _split_divergence(items: list) -> list[list] | None:
    """P || Q or P \\| Q: the two sides, or None."""
    for k, node in enumerate(items):
        if _is_cmd(node, r"\|"):
            return [items[:k], items[k + 1:]]
        if _is_char(node, "|") and k + 1 < len(items) and _is_char(items[k + 1], "|"):
            return [items[:k], items[k + 2:]]
    return None


class _Integral(NamedTuple):
    lower: list | None
    upper: list | None
    body: list
    differential: list
    end: int


def _integral_parts(items: list, i: int) -> _Integral:
    """`\\int_a^b body d<var>`: the integrand runs to the first differential of the same group."""
    lower, upper, j = _scripts(items, i + 1)
    depth = 0
    for k in range(j, len(items)):
        if _is_cmd(items[k], r"\int"):
            depth += 1
        elif _is_char(items[k], "d") and k + 1 < len(items) and \
                (_simple_name(items[k + 1]) or _is_group(items[k + 1], "(")):
            if depth:
                depth -= 1
                continue
            end = k + 2 if isinstance(items[k + 1], _Group) else _read_name(items, k + 1)[1]
            return _Integral(lower, upper, items[j:k], items[k + 1:end], end)
    raise _Unreadable(items[i:], "an integral needs its differential (dx, d(mx)) after the integrand")


def _term_end(items: list, start: int) -> int:
    """The TERM rule: the end of the term starting at `start` (leading signs belong to it)."""
    k = start
    while k < len(items) and _is_char(items[k], "+-"):
        k += 1
    while k < len(items) and not _is_char(items[k], "+-"):
        k = _integral_parts(items, k).end if _is_cmd(items[k], r"\int") else k + 1
    return k


def _order(items: list, k: int) -> tuple[int | None, int]:
    """An optional `^n` at items[k]: (n, next index), n None when it is not a plain integer."""
    if k < len(items) and _is_char(items[k], "^") and k + 1 < len(items):
        arg = items[k + 1].items if _is_group(items[k + 1], "{") else [items[k + 1]]
        text = "".join(t.text for t in arg if isinstance(t, _Tok))
        return (int(text) if text.isdigit() and len(text) == len(arg) else None), k + 2
    return 1, k


def _is_differential_symbol(node) -> bool:
    return _is_char(node, "d") or _is_cmd(node, r"\partial")


def _derivative_form(frac: _Frac) -> tuple[int, list[tuple[_Name, int]], list] | None:
    """`\\frac{d^n body}{dx^a dy^b}`: (n, [(x, a), (y, b)], body), or None for a plain fraction."""
    if not frac.num or not _is_differential_symbol(frac.num[0]):
        return None
    order, k = _order(frac.num, 1)
    wrt, j = [], 0
    while j < len(frac.den):
        if not (_is_differential_symbol(frac.den[j]) and j + 1 < len(frac.den)
                and _simple_name(frac.den[j + 1])):
            return None
        name, j = _read_name(frac.den, j + 1)
        n, j = _order(frac.den, j)
        if name.sub is not None and not name.sub_is_name:
            return None
        wrt.append((name, n))
    if not wrt:
        return None
    if order is None or any(n is None for _, n in wrt):
        raise _Unreadable(frac, "the order of a derivative must be a whole number")
    return order, wrt, frac.num[k:]


# -- reading -------------------------------------------------------------------------------------

_FUNCTIONS = {r"\log": sp.log, r"\ln": sp.log, r"\exp": sp.exp, r"\sin": sp.sin, r"\cos": sp.cos,
              r"\tan": sp.tan, r"\cot": sp.cot, r"\sec": sp.sec, r"\csc": sp.csc,
              r"\sinh": sp.sinh, r"\cosh": sp.cosh, r"\tanh": sp.tanh, r"\arcsin": sp.asin,
              r"\arccos": sp.acos, r"\arctan": sp.atan}
_PRODUCT_ARGUMENT = {r"\log", r"\ln"}
_CHAR_PROBLEMS = {
    "=": "a relation symbol; deriv reads one side of a relation at a time",
    "<": "a relation symbol; deriv reads one side of a relation at a time",
    ">": "a relation symbol; deriv reads one side of a relation at a time",
    "|": "this `|` is neither an absolute value |a| nor a bar inside p(y|x) or KL(p||q)",
    "_": "a subscript on something that is not a name",
    ",": "a `,` outside the arguments of a function",
    "'": "primes are not read; write \\frac{d}{dx}",
    ":": "`:` is not an operator deriv reads",
}
# strict=True reports input left over (or an operand missing at the end) as "Invalid LaTeX"
_PARSER_REASONS = {"Invalid LaTeX": "an operand is missing or something is left over",
                   "I expected something else here": "an operand is missing or misplaced"}
_SLOT = re.compile(r"\{\\(slot[A-J]+)\}")


class _Reader:
    """Reads normalised items: constructs become slots, the rest goes to parse_latex."""

    def __init__(self, context: Context):
        self.ctx = context
        self.slots: dict[sp.Symbol, sp.Expr] = {}
        self.discrete = {name: prob.variables(name)[0] for name in context.discrete}

    # the expression of an item list, and the LaTeX handed to parse_latex

    def expression(self, items: list, near) -> sp.Expr:
        if not items:
            raise _Unreadable(near, "an operand is missing")
        text = self.emit(items)
        single = _SLOT.fullmatch(text)
        if single:
            return self.slots[sp.Symbol(single.group(1))]
        try:
            skeleton = _sympy_parse_latex(text, strict=True, backend="antlr")
        except Exception as exc:  # LaTeXParsingError, or anything the antlr runtime raises
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reason = _PARSER_REASONS.get(reason, f"sympy's parser: {reason}")
            raise _Unreadable(items, f"not a well-formed expression ({reason})") from exc
        if not isinstance(skeleton, sp.Expr) or not skeleton.free_symbols <= set(self.slots):
            raise _Unreadable(items, "sympy's parser read something else than an expression")
        # every leaf is a slot, so xreplace rebuilds (and evaluates) every evaluate=False node
        return skeleton.xreplace(self.slots)

    def emit(self, items: list) -> str:
        pieces, i = [], 0
        while i < len(items):
            piece, i = self.emit_at(items, i)
            pieces.append(piece)
        return " ".join(pieces)

    def emit_at(self, items: list, i: int) -> tuple[str, int]:
        node = items[i]
        if isinstance(node, _Frac):
            return self.fraction(items, i)
        if isinstance(node, _Group):
            return self.group(items, i)
        if _simple_name(node):
            return self.name(items, i)
        if node.kind == "char":
            return self.char(items, i)
        if node.text in _FUNCTIONS:
            return self.function(items, i)
        handler = self.COMMANDS.get(node.text)
        if handler is None:
            with_argument = i + 1 < len(items) and _is_group(items[i + 1], "{")
            raise _Unreadable(items[i:i + 2] if with_argument else node, _unknown(node))
        return getattr(self, handler)(items, i)

    def slot(self, value) -> str:
        name = "slot" + "".join(chr(ord("A") + int(d)) for d in str(len(self.slots)))
        self.slots[sp.Symbol(name)] = sp.sympify(value)
        return "{\\" + name + "}"

    # plain tokens

    def char(self, items: list, i: int) -> tuple[str, int]:
        tok = items[i]
        if _is_digit(tok):
            return self.number(items, i)
        if tok.text in "+-*/!":
            return tok.text, i + 1
        if tok.text == "^":
            if i + 1 >= len(items):
                raise _Unreadable(tok, "the exponent is missing")
            exponent = items[i + 1].items if _is_group(items[i + 1], "{") else [items[i + 1]]
            return "^{" + self.emit(exponent) + "}", i + 2
        raise _Unreadable(tok, _CHAR_PROBLEMS.get(tok.text, f"unexpected `{tok.text}`"))

    def number(self, items: list, i: int) -> tuple[str, int]:
        j = _number_end(items, i)
        text = "".join(t.text for t in items[i:j])
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            raise _Unreadable(items[i:j], "not a number")
        return self.slot(sp.Rational(text)), j

    def operator(self, items: list, i: int) -> tuple[str, int]:
        return items[i].text, i + 1

    def infinity(self, items: list, i: int) -> tuple[str, int]:
        return self.slot(sp.oo), i + 1

    # names, applications, symbols

    def name(self, items: list, i: int) -> tuple[str, int]:
        spelled = self.spelled_operator(items, i)
        if spelled:
            return spelled
        ref, j = _read_name(items, i)
        after = items[j] if j < len(items) else None
        if _is_char(after, "'"):
            raise _Unreadable([*ref.nodes, after], _CHAR_PROBLEMS["'"])
        if ref.base == "E" and ref.sub is not None and (not ref.sub_is_name or _is_group(after, "[")):
            return self.expectation(ref, items, j)
        if ref.sub is not None and not ref.sub_is_name:
            raise _Unreadable(ref.nodes, f"the subscript of {ref.base} is not a name")
        if ref.text == "E" and _is_group(after, "["):
            raise _Unreadable([*ref.nodes, after], "E[...] needs its distribution: write E_{p(x)}[...]")
        if _is_group(after, "("):
            applied = self.application(ref, after)
            if applied is not None:
                return self.slot(applied), j + 1
            if len(_split(after.items, ",")) > 1:
                raise _Unreadable([*ref.nodes, after], f"{ref.text} is not a declared function")
        if ref.text in self.ctx.functions:
            raise _Unreadable(ref.nodes, f"{ref.text} is a declared function: write {ref.text}(...)")
        return self.slot(self.resolve(ref.text)), j

    def resolve(self, name: str) -> sp.Expr:
        if name in self.discrete:
            return self.discrete[name]
        if name == "e" and not self.ctx.e_is_symbol:
            return sp.E
        if name == "pi":
            return sp.pi
        if name in self.ctx.symbols:
            return self.ctx.symbols[name]
        self.ctx.undeclared.add(name)
        return sp.Symbol(name, **self.ctx.default_assumptions)

    def symbol_of(self, items: list, near) -> sp.Expr:
        """The symbol of an item list that must be exactly one name (a bound variable)."""
        ref = _single_name(items)
        if ref is None:
            raise _Unreadable(items or near, "a variable name is expected here")
        return self.resolve(ref.text)

    def application(self, ref: _Name, group: _Group) -> sp.Expr | None:
        """`name(...)` as a function call, a probability operator or a table; None: a product."""
        if ref.text in self.ctx.functions:
            return self.call(ref, group)
        near = [*ref.nodes, group]
        if ref.text in ("KL", "D_KL"):
            return self.divergence(group, near)
        if ref.text == "CE":
            return self.cross_entropy(group, near)
        if ref.text == "H":
            entropy = self.entropy(group, near)
            if entropy is not None:
                return entropy
        return self.table_entry(ref, group)

    def call(self, ref: _Name, group: _Group) -> sp.Expr:
        function = self.ctx.functions[ref.text]
        args = [self.expression(part, group) for part in _split(group.items, ",")]
        if len(args) not in function.nargs:
            raise _Unreadable([*ref.nodes, group], f"{ref.text} takes {len(function.variables)} "
                              f"argument(s), not {len(args)}")
        return function(*args)

    def spelled_operator(self, items: list, i: int) -> tuple[str, int] | None:
        """KL(...) and CE(...) written as two letters."""
        for word, read in (("KL", self.divergence), ("CE", self.cross_entropy)):
            end = i + len(word)
            if end < len(items) and _is_group(items[end], "(") and \
                    "".join(_simple_name(n) or "?" for n in items[i:end]) == word:
                return self.slot(read(items[end], items[i:end + 1])), end + 1
        return None

    # elementary functions

    def function(self, items: list, i: int) -> tuple[str, int]:
        tok = items[i]
        base, power, j = _scripts(items, i + 1)
        if base is not None and tok.text != r"\log":
            raise _Unreadable(items[i:j], f"{tok.text} takes no subscript")
        argument, j = _function_argument(items, j, tok)
        argument = self.expression(argument, tok)
        if base is None:
            value = _FUNCTIONS[tok.text](argument)
        else:
            value = sp.log(argument, self.expression(base, tok))
        if power is not None:
            exponent = self.expression(power, tok)
            if exponent == -1:
                raise _Unreadable(items[i:j], f"{tok.text}^{{-1}} is ambiguous: write the inverse "
                                  "function or a power of the bracket")
            value = value ** exponent
        return self.slot(value), j

    def root(self, items: list, i: int) -> tuple[str, int]:
        tok, j = items[i], i + 1
        index = None
        if j < len(items) and _is_group(items[j], "["):
            index, j = self.expression(items[j].items, items[j]), j + 1
        radicand = self.expression(_argument(items, j, tok), tok)
        return self.slot(sp.sqrt(radicand) if index is None else sp.root(radicand, index)), j + 1

    # brackets and fractions

    def group(self, items: list, i: int) -> tuple[str, int]:
        group = items[i]
        if not group.items:
            raise _Unreadable(group, "empty brackets")
        if group.open == "{":
            return "{" + self.emit(group.items) + "}", i + 1
        if group.open == "|":
            return self.slot(sp.Abs(self.expression(group.items, group))), i + 1
        if group.open == "[":
            lower, upper, j = _scripts(items, i + 1)
            if lower is not None and upper is not None:
                return self.slot(self.evaluation(group, lower, upper)), j
        return "(" + self.emit(group.items) + ")", i + 1

    def evaluation(self, group: _Group, lower: list, upper: list) -> sp.Expr:
        """[F]^b_a = F(b) - F(a) in the integration variable F contains."""
        value = self.expression(group.items, group)
        found = sorted((s for s in value.free_symbols if s.name in self.ctx.integral_limits), key=str)
        if len(found) != 1:
            names = ", ".join(map(str, found)) or "none"
            raise _Unreadable(group, "an evaluation bracket [F]^b_a needs exactly one integration "
                              f"variable (declared with integral limits) in F; found {names}")
        (variable,) = found
        return value.subs(variable, self.expression(upper, group)) \
            - value.subs(variable, self.expression(lower, group))

    def fraction(self, items: list, i: int) -> tuple[str, int]:
        frac = items[i]
        form = _derivative_form(frac)
        if form is None:
            return f"\\frac{{{self.emit(frac.num)}}}{{{self.emit(frac.den)}}}", i + 1
        order, wrt, body = form
        if order != sum(n for _, n in wrt):
            raise _Unreadable(frac, "the orders of the derivative's numerator and denominator differ")
        end = i + 1
        if not body:  # an operator: it applies to the rest of the term
            end = _term_end(items, i + 1)
            body = items[i + 1:end]
        variables = [(self.symbol_of(name.nodes, frac), n) for name, n in wrt]
        return self.slot(sp.Derivative(self.expression(body, frac), *variables)), end

    # integrals, sums, limits

    def integral(self, items: list, i: int) -> tuple[str, int]:
        tok = items[i]
        part = _integral_parts(items, i)
        integrand = self.expression(part.body, tok) if part.body else sp.Integer(1)
        explicit = part.lower is not None or part.upper is not None
        variable, jacobian = self.integration_variable(part.differential, explicit)
        lower, upper = self.integration_limits(variable, part, items[i:part.end])
        return self.slot(sp.Integral(integrand * jacobian, (variable, lower, upper))), part.end

    def integration_variable(self, differential: list, explicit: bool) -> tuple[sp.Symbol, sp.Expr]:
        if not _is_group(differential[0], "("):
            return self.symbol_of(differential, differential), sp.Integer(1)
        inner = self.expression(differential[0].items, differential[0])
        found = [s for s in inner.free_symbols if s.name in self.ctx.integral_limits]
        if len(found) != 1 and explicit and len(inner.free_symbols) == 1:
            found = list(inner.free_symbols)
        if len(found) != 1:
            raise _Unreadable(differential, f"d({inner}) must depend on exactly one integration "
                              "variable declared with integral limits")
        return found[0], sp.diff(inner, found[0])

    def integration_limits(self, variable: sp.Symbol, part: _Integral, nodes: list) -> tuple:
        if part.lower is not None and part.upper is not None:
            return self.expression(part.lower, nodes), self.expression(part.upper, nodes)
        if part.lower is not None or part.upper is not None:
            raise _Unreadable(nodes, "an integral needs both limits or none")
        if variable.name not in self.ctx.integral_limits:
            raise _Unreadable(nodes, f"an integral without limits needs declared integral limits "
                              f"for {variable.name}")
        return tuple(sp.sympify(v) for v in self.ctx.integral_limits[variable.name])

    def big_sum(self, items: list, i: int) -> tuple[str, int]:
        tok = items[i]
        lower, upper, j = _scripts(items, i + 1)
        if lower is None:
            raise _Unreadable(tok, f"{tok.text} needs its index: {tok.text}_{{n=1}}^{{N}} "
                              f"or {tok.text}_x")
        end = _term_end(items, j)
        if upper is None:
            self.refuse_ambiguous_extent(items, end, lower, tok)
            body = self.expression(items[j:end], items[i:j])
            return self.slot(self.discrete_sum(tok, lower, body)), end
        body = self.expression(items[j:end], items[i:j])
        equals = [k for k, node in enumerate(lower) if _is_char(node, "=")]
        if len(equals) != 1:
            raise _Unreadable(items[i:j], f"write {tok.text}_{{n=a}}^{{b}}")
        k = equals[0]
        limits = (self.symbol_of(lower[:k], tok), self.expression(lower[k + 1:], tok),
                  self.expression(upper, tok))
        return self.slot((sp.Sum if tok.text == r"\sum" else sp.Product)(body, limits)), end

    def refuse_ambiguous_extent(self, items: list, end: int, lower: list, tok: _Tok) -> None:
        """Σ_x over a discrete variable ends at the next + or − (the TERM rule), unless the term
        after it depends on x: `\\sum_x p(x) A(x) + B(x)` may mean Σ_x (p A + B) or (Σ_x p A) + B
        with a free x, and authors write both. Refused rather than guessed: a wrong guess could
        prove a claim the document does not make."""
        if end >= len(items):
            return
        variables = {self.symbol_of(part, tok) for part in _split(lower, ",")}
        following = _term_end(items, end)
        try:
            term = self.expression(items[end:following], items[end:following])
        except _Unreadable:
            return
        free = set(prob.free_indices(term)) & variables  # KL(P, Q, x) does not depend on x
        if free:
            names = ", ".join(sorted(str(v) for v in free))
            raise _Unreadable(items[end:following], f"does the sum over {names} before it cover this "
                              f"term, which depends on {names}? Add parentheses")

    def discrete_sum(self, tok: _Tok, lower: list, body: sp.Expr) -> sp.Expr:
        variables = [self.symbol_of(part, tok) for part in _split(lower, ",")]
        unknown = [str(v) for v in variables if v not in self.discrete.values()]
        if unknown or tok.text != r"\sum":
            what = f"{', '.join(unknown)} is not a declared discrete variable" if unknown \
                else "a product over a discrete variable is not supported"
            raise _Unreadable(tok, f"{tok.text}_{{{','.join(map(str, variables))}}} without limits: "
                              f"{what}; write {tok.text}_{{n=a}}^{{b}}")
        return prob.S(body, *variables)

    def limit(self, items: list, i: int) -> tuple[str, int]:
        tok = items[i]
        lower, upper, j = _scripts(items, i + 1)
        arrows = [k for k, node in enumerate(lower or []) if _is_cmd(node, r"\to")]
        if upper is not None or len(arrows) != 1:
            raise _Unreadable(items[i:j], "write \\lim_{x \\to a}")
        k = arrows[0]
        point, direction = lower[k + 1:], "+-"
        if len(point) >= 2 and _is_char(point[-2], "^"):
            sign = point[-1].items if _is_group(point[-1], "{") else [point[-1]]
            if len(sign) == 1 and _is_char(sign[0], "+-"):
                point, direction = point[:-2], sign[0].text
        end = _term_end(items, j)
        value = sp.Limit(self.expression(items[j:end], items[i:j]), self.symbol_of(lower[:k], tok),
                         self.expression(point, tok), direction)
        return self.slot(value), end

    # probability notation

    def table_entry(self, ref: _Name, group: _Group) -> sp.Expr | None:
        """`p(x)`, `q(z|x)`, `p(x|z,m)` over discrete variables; None when it is not a table."""
        sides = _split(group.items, "|")
        over, *conditions = [[self.index(part) for part in _split(side, ",")] for side in sides]
        discrete = set(self.discrete.values())
        if not conditions and not all(v in discrete for v in over):
            return None
        given = [v for side in conditions for v in side]
        params = [v for v in given if v not in discrete]
        problem = _table_problem(len(conditions), over, params, discrete)
        if problem:
            raise _Unreadable([*ref.nodes, group], problem)
        given = [v for v in given if v in discrete]
        if ref.text == "delta" and len(over) == 1 and len(given) == 1 and not params:
            return prob.delta(over[0], given[0])  # δ(y|x), the table of y = x
        table = self.table(ref.text, over[0], given, params[0] if params else None)
        return table(over[0], *given)

    def index(self, items: list):
        """The symbol a table argument names, or None when it is not a single name."""
        ref = _single_name(items)
        return None if ref is None else self.resolve(ref.text)

    def table(self, name: str, over, given: list, param) -> prob.Table:
        conditions = ",".join(str(v) for v in [*given, *([param] if param is not None else [])])
        key = f"{name}({over}|{conditions})" if conditions else f"{name}({over})"
        if key not in self.ctx.tables:
            data = name in self.ctx.data or name.endswith("_data")
            # q(z), q(x|z), q(x): one letter for several distributions (the usual abuse of
            # notation) is several tables; the later ones are named by their variables, q_x_z
            taken = any(other.startswith(name + "(") for other in self.ctx.tables)
            unique = "_".join([name, *(str(v) for v in (over, *given))]) if taken else name
            self.ctx.tables[key] = prob.Table(unique, over, given=tuple(given), depends_on=param, data=data)
        return self.ctx.tables[key]

    def bare_table(self, name: str, near) -> sp.Expr:
        """A table written without its variables, `p` in H(p): the one of that name already read."""
        found = [t for t in self.ctx.tables.values() if t.name == name]
        if not found and len(self.discrete) == 1:
            (variable,) = self.discrete.values()
            found = [self.table(name, variable, [], None)]
        if len(found) != 1:
            why = f"several tables are named {name}" if found else f"no table {name} is known"
            raise _Unreadable(near, f"write {name} with its variables, e.g. {name}(x): {why}")
        return found[0](*found[0].sizes_needed())

    def distribution(self, items: list, near) -> sp.Expr:
        """A distribution argument: a table expression, or a bare table name."""
        ref = _single_name(items)
        if ref and ref.text not in self.discrete and ref.text not in self.ctx.symbols:
            return self.bare_table(ref.text, near)
        return self.expression(items, near)

    def summed(self, distribution: sp.Expr, near) -> list:
        """The variables a distribution sums over: the first index of each of its tables."""
        firsts = {app.args[0] for app in distribution.atoms(AppliedUndef) if prob.table_of(app)}
        # a variable summed inside the distribution (KL(Σ_z p(x) q(z|x) || …)) is not summed again
        variables = sorted((v for v in firsts if v in self.discrete.values() and v in distribution.free_symbols),
                           key=str)
        if not variables:
            raise _Unreadable(near, "no probability table over a declared discrete variable here")
        return variables

    def divergence(self, group: _Group, near: list) -> sp.Expr:
        sides = _split_divergence(group.items)
        if sides is None:
            raise _Unreadable(near, "KL needs two distributions: KL(p(x)||q(x))")
        p, q = (self.distribution(side, near) for side in sides)
        return prob.KL(p, q, *self.summed(p, near))

    def cross_entropy(self, group: _Group, near: list) -> sp.Expr:
        sides = _split(group.items, ",")
        if len(sides) != 2:
            raise _Unreadable(near, "CE needs two distributions: CE(p(x), q(x))")
        p, q = (self.distribution(side, near) for side in sides)
        return prob.CE(p, q, *self.summed(p, near))

    def entropy(self, group: _Group, near: list) -> sp.Expr | None:
        """H(p), H(p(x)), or H(f) of a declared density; None when H(...) is not an entropy."""
        ref = _single_name(group.items)
        if ref:
            if ref.text in self.ctx.functions:
                return self.differential_entropy(ref.text, near)
            if not self.discrete or ref.text in self.discrete or ref.text in self.ctx.symbols:
                return None
            p = self.bare_table(ref.text, near)
        else:
            p = self.expression(group.items, group)
            if not any(prob.table_of(app) for app in p.atoms(AppliedUndef)):
                return None
        return prob.H(p, *self.summed(p, near))

    def differential_entropy(self, name: str, near: list) -> sp.Expr:
        density = self.ctx.functions[name]
        if len(density.variables) != 1 or density.variables[0].name not in self.ctx.integral_limits:
            raise _Unreadable(near, f"H({name}) needs {name} to be a function of one variable "
                              "with declared integral limits")
        (variable,) = density.variables
        lower, upper = (sp.sympify(v) for v in self.ctx.integral_limits[variable.name])
        return sp.Integral(-density.expr * sp.log(density.expr), (variable, lower, upper))

    def expectation(self, ref: _Name, items: list, j: int) -> tuple[str, int]:
        p = self.distribution(ref.sub, ref.nodes)
        if j < len(items) and _is_group(items[j], "["):
            body, end = items[j].items, j + 1
        else:
            end = _term_end(items, j)
            body = items[j:end]
        value = prob.E(p, self.expression(body, ref.nodes), *self.summed(p, ref.nodes))
        return self.slot(value), end

    COMMANDS = {r"\int": "integral", r"\sum": "big_sum", r"\prod": "big_sum", r"\lim": "limit",
                r"\sqrt": "root", r"\cdot": "operator", r"\times": "operator", r"\div": "operator",
                r"\infty": "infinity"}


def _table_problem(bars: int, over: list, params: list, discrete: set) -> str | None:
    """Why `name(over | given)` cannot be a table, or None."""
    if bars > 1:
        return "a table has at most one conditional bar"
    if len(over) != 1:
        return "joint tables p(x, z) are not supported"
    if over[0] not in discrete:
        return "a table's first argument must be a declared discrete variable"
    if len(params) > 1 or params and not isinstance(params[0], sp.Symbol):
        return "a table's conditions are discrete variables and at most one parameter symbol"
    return None


def _unknown(tok: _Tok) -> str:
    name = tok.text[1:]
    if name in _NOT_EXPRESSIONS:
        return f"{name} is not an expression deriv can evaluate"
    if tok.text == r"\partial":
        return "∂ outside a derivative \\frac{\\partial}{\\partial x}"
    if tok.text in (r"\le", r"\leq", r"\ge", r"\geq", r"\ne", r"\neq", r"\approx", r"\to", r"\in"):
        return "a relation symbol; deriv reads one side of a relation at a time"
    if tok.text == r"\|":
        return "‖ outside KL(p \\| q)"
    return f"unknown command {tok.text}"

