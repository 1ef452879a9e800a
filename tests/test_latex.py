r"""deriv.latex: one LaTeX expression of a document into sympy.

The rows of CATSMILE-1019 (000_7c2102692a30e2b4.txt) are copied verbatim below; line numbers
refer to that document.
"""
import pytest
import sympy as sp
from sympy.parsing.latex import parse_latex

from deriv import prob
from deriv.latex import Context, LatexError, parse

m = sp.Symbol("m", positive=True)
x = sp.Symbol("x", real=True)
a, b = sp.symbols("a b", real=True)
E = sp.exp(m)
F_M = sp.Lambda(x, m * sp.exp(m * x) / (E - 1))  # line 54: f_m(x) = m exp(mx) / (exp m - 1)
GRADIENT = -1 / m + m * E / (E - 1) ** 2  # d/dm H(f_m), line 77


def context(**changes) -> Context:
    declared = dict(symbols={"m": m, "x": x, "a": a, "b": b}, functions={"f": F_M, "f_m": F_M},
                    integral_limits={"x": (0, 1)})
    return Context(**(declared | changes))


def read(latex: str, **changes) -> sp.Expr:
    return parse(latex, context(**changes))


def evaluated(expr: sp.Basic) -> sp.Basic:
    """parse_latex's own result with its evaluate=False nodes evaluated, for comparisons."""
    return expr.func(*map(evaluated, expr.args)) if expr.args else expr


def refused(latex: str, **changes) -> str:
    with pytest.raises(LatexError) as caught:
        read(latex, **changes)
    return str(caught.value)


# -- spacing, decoration, grouping ------------------------------------------------------------

@pytest.mark.parametrize("latex, expected", [
    (r"a\,b", a * b), (r"a\;b", a * b), (r"a\!b", a * b), (r"a\quad b", a * b), (r"a~b", a * b),
    (r"\displaystyle a + b", a + b),
    (r"\left( a + b \right) m", (a + b) * m), (r"\left[ a + b \right] m", (a + b) * m),
    (r"\left\{ a + b \right\} m", (a + b) * m), (r"[a + b] m", (a + b) * m),
    (r"\Big( a + b \Big) m", (a + b) * m), (r"\big[ a + b \big] m", (a + b) * m),
    (r"\bigl( a + b \bigr) m", (a + b) * m), (r"\left. a + b \right.", a + b),
    (r"\left( a + b \right ) m", (a + b) * m),  # `\right )` with a space, as on line 61
    (r"a + b.", a + b), (r"a + b ,", a + b),
    ("a +\\\n b", a + b), (r"a + \ b", a + b),  # `\` before a newline or space: line continuation
    (r"& a \\ & + b", a + b), (r"\begin{aligned} &a \\ &+ b \end{aligned}", a + b),
    (r"\text{log}(a)", sp.log(a)), (r"\mathrm{exp}(a)", sp.exp(a)), (r"\operatorname{log} a", sp.log(a)),
    (r"a \cdot b", a * b), (r"a \times b", a * b), (r"a^2", a ** 2), (r"a^{-1}", 1 / a),
    (r"\pi", sp.pi), (r"\infty", sp.oo), (r"0.5 a", a / 2), (r"\sqrt{a}", sp.sqrt(a)),
    (r"\sqrt[3]{a}", sp.root(a, 3)), (r"|a - 1|", sp.Abs(a - 1)), (r"\left| a \right|", sp.Abs(a)),
    (r"\frac12 a", a / 2), (r"\dfrac{a}{b}", a / b), (r"a / b m", a / (b * m)),  # juxtaposition first
])
def test_spacing_decoration_and_grouping(latex, expected):
    assert read(latex) == expected


def test_over_applies_to_the_whole_enclosing_group():
    assert read(r"{a \over b}") == a / b
    assert read(r"{a + b \over m - 1}") == (a + b) / (m - 1)
    assert read(r"a + {1 \over m}") == a + 1 / m
    assert read(r"{ {a \over b} \over m}") == a / (b * m)
    assert read(r"a + b \over m") == (a + b) / m  # at the top level: the whole expression
    assert "two \\over" in refused(r"{a \over b \over m}")


# -- e, exp, log --------------------------------------------------------------------------------

def test_e_is_eulers_number_unless_declared():
    assert read(r"e^{a}") == sp.exp(a)
    assert read(r"\mathrm{e}^{mx}") == sp.exp(m * x)
    assert read(r"\exp(a)") == read(r"\exp a") == sp.exp(a)
    e = sp.Symbol("e", positive=True)
    assert read(r"e^{a}", e_is_symbol=True, symbols={"e": e, "a": a}) == e ** a


def test_log_takes_the_product_up_to_the_next_plus_or_minus():
    # parse_latex reads `\log m\exp(mx)` as log(m)·exp(mx); the document (line 61) means
    # log(m·exp(mx)), the logarithm of the density's numerator
    raw_m, raw_x = sp.symbols("m x")
    raw = evaluated(parse_latex(r"\log m\exp(mx)", strict=True))
    assert raw == sp.log(raw_m) * sp.exp(raw_m * raw_x)
    assert read(r"\log m\exp(mx)") == sp.log(m * sp.exp(m * x))
    assert read(r"\log  m\exp(mx) - 1") == sp.log(m * sp.exp(m * x)) - 1
    assert read(r"\log a b \cdot m + 1") == sp.log(a * b * m) + 1
    assert read(r"\log (a) b") == sp.log(a) * b  # a parenthesised argument is the whole argument
    assert read(r"\log (\exp m -1) - \log  m") == sp.log(E - 1) - sp.log(m)
    assert read(r"\log_2 8") == 3
    assert read(r"\ln a") == sp.log(a)


def test_exp_without_parentheses_takes_one_factor():
    assert read(r"\exp m") == E
    assert read(r"\exp(mx)") == read(r"\exp (mx)") == read(r"\exp{mx}") == sp.exp(m * x)
    assert read(r"\exp m -1") == E - 1
    assert read(r"\exp m (1-\exp m)") == E * (1 - E)  # line 70; parse_latex: exp(m(1 - exp m))
    assert read(r"\exp a^2") == sp.exp(a ** 2)
    assert read(r"\exp \log a b - 1") == a * b - 1  # a function as the factor (line 517)
    assert read(r"\exp \exp m") == sp.exp(E)
    assert "ambiguous" in refused(r"\exp mx")
    assert read(r"\sin^2 a") == sp.sin(a) ** 2
    assert "ambiguous" in refused(r"\sin^{-1} a")


# -- names, symbols, functions ----------------------------------------------------------------

def test_juxtaposed_letters_are_products_of_the_declared_symbols():
    product = read(r"mx")
    assert product == m * x and {s for s in product.free_symbols} == {m, x}
    assert read("m") is m  # the declared object, so its assumptions carry


def test_subscripted_and_greek_names_are_single_symbols():
    ctx = context()
    names = {"theta", "x_i", "p_data", "theta_Brewster", "V_AB", "x_12"}
    value = parse(r"\theta + x_i + p_{data} + \theta_{Brewster} + V_{AB} + x_{12}", ctx)
    assert value == sum(sp.Symbol(name, real=True) for name in names)
    assert ctx.undeclared == names
    # parse_latex itself multiplies the letters of a subscript (sympy#19662)
    assert parse_latex(r"\theta_{Brewster}").name != "theta_Brewster"


def test_undeclared_symbols_get_the_default_assumptions_and_are_reported():
    ctx = context(default_assumptions={"positive": True})
    value = parse(r"c + m", ctx)
    assert value == sp.Symbol("c", positive=True) + m
    assert ctx.undeclared == {"c"}


def test_declared_functions_are_applied():
    assert read(r"f(x)") == F_M(x)
    assert read(r"f_m(x)") == F_M(x)
    assert read(r"f(2)") == m * sp.exp(2 * m) / (E - 1)
    assert read(r"s(a)", functions={"s": sp.Lambda(x, 1 / (1 + sp.exp(-x)))}) == 1 / (1 + sp.exp(-a))
    assert "declared function" in refused(r"f + 1")
    assert "takes 1 argument" in refused(r"f(a, b)")


def test_a_letter_before_parentheses_that_is_no_function_multiplies():
    assert read(r"m(a+b)") == m * (a + b)
    assert read(r"(m)\exp m") == m * E  # line 77
    # parse_latex itself makes m an undefined function (sympy#19676)
    assert isinstance(parse_latex(r"m(a+b)"), sp.core.function.AppliedUndef)
    assert "not a declared function" in refused(r"m(a, b)")


def test_a_bare_x_between_numeric_factors_is_kept():
    # parse_latex drops a factor `x` between two symbol-free factors, taking it for a times sign
    assert evaluated(parse_latex(r"\frac{1}{2} x \frac{1}{3}")) == sp.Rational(1, 6)
    assert read(r"\frac{1}{2} x \frac{1}{3}") == x / 6


# -- derivatives ----------------------------------------------------------------------------------

def test_derivative_fractions():
    assert read(r"\frac{d}{dx} x^2") == sp.Derivative(x ** 2, x)
    assert read(r"\frac{\partial}{\partial m} m x") == sp.Derivative(m * x, m)
    assert read(r"{\partial \over \partial m} m x") == sp.Derivative(m * x, m)
    assert read(r"\frac{d^2}{dx^2} x^3") == sp.Derivative(x ** 3, (x, 2))
    assert read(r"\frac{d^2 x^3}{dx^2}") == sp.Derivative(x ** 3, (x, 2))
    assert read(r"\frac{d m x}{dm}") == sp.Derivative(m * x, m)
    assert read(r"\frac{\partial^2}{\partial x \partial m} m x^2") == sp.Derivative(m * x ** 2, x, m)
    assert isinstance(read(r"\frac{d}{dx} x^2"), sp.Derivative)  # unevaluated
    assert "orders" in refused(r"\frac{d^2}{dx} x")
    assert "whole number" in refused(r"\frac{d^n}{dx^n} x")
    assert "missing" in refused(r"\frac{d}{dx}")


def test_a_derivative_operator_applies_to_the_rest_of_the_term():
    # parse_latex: the rest of the juxtaposed product only, so `\cdot` ends it
    raw_x, raw_y = sp.symbols("x y")
    assert evaluated(parse_latex(r"\frac{d}{dx} x \cdot y")) == raw_y * sp.Derivative(raw_x, raw_x)
    assert read(r"\frac{d}{dx} x \cdot m + 1") == sp.Derivative(x * m, x) + 1
    assert read(r"- {\partial \over \partial m} m x - a") == -sp.Derivative(m * x, m) - a
    assert read(r"{\partial \over \partial m} \int m x - a dx + b") == \
        sp.Derivative(sp.Integral(m * x - a, (x, 0, 1)), m) + b  # the integrand's - is inside
    assert read(r"{\partial \over \partial m} \left[ m + a \right] + b") == sp.Derivative(m + a, m) + b


# -- integrals and evaluation brackets --------------------------------------------------------

def test_integrals():
    assert read(r"\int_0^1 x\,dx") == sp.Integral(x, (x, 0, 1))
    assert read(r"\int_0^{a} x \, \mathrm{d}x") == sp.Integral(x, (x, 0, a))
    assert read(r"\int_0^1 x + 1 dx") == sp.Integral(x + 1, (x, 0, 1))
    assert read(r"\int f(x) dx") == sp.Integral(F_M(x), (x, 0, 1))  # limits from the context
    assert read(r"\int_0^1\int_0^1 x a \, dx \, da") == \
        sp.Integral(sp.Integral(x * a, (x, 0, 1)), (a, 0, 1))
    assert "declared integral limits for x" in refused(r"\int x dx", integral_limits={})
    assert "differential" in refused(r"\int_0^1 x")


def test_stieltjes_differential_belongs_to_the_integration_variable():
    # ∫ g d(mx) = ∫ g · m dx, the limits belonging to x (line 63, read by line 64)
    assert read(r"\int_0^1 x \, d(mx)") == sp.Integral(x * m, (x, 0, 1))
    assert read(r"\int x d(mx)") == sp.Integral(x * m, (x, 0, 1))
    assert read(r"\int_0^1 a \, d(2a)", integral_limits={}) == sp.Integral(2 * a, (a, 0, 1))
    assert "exactly one integration variable" in refused(r"\int x d(ma)", integral_limits={})


def test_evaluation_bracket():
    assert read(r"[m x^2]^1_0") == m
    assert read(r"\left[ x^2 \right]_0^1") == 1
    assert read(r"[(mx - 1 )\exp (mx)]^1_0") == (m - 1) * E + 1  # line 64
    assert read(r"[a]^2") == a ** 2  # only a superscript: a power
    both = {"x": (0, 1), "a": (0, 1)}
    assert "exactly one integration variable" in refused(r"[x a]^1_0", integral_limits=both)
    assert "found none" in refused(r"[m]^1_0")


# -- sums, products, limits -------------------------------------------------------------------

def test_sums_products_and_limits():
    n, N = sp.Symbol("n", real=True), sp.Symbol("N", real=True)
    assert read(r"\sum_{n=1}^{N} n + 1") == sp.Sum(n, (n, 1, N)) + 1
    assert read(r"\sum_{n=1}^{3} n^2").doit() == 14
    assert read(r"\prod_{n=1}^{3} n").doit() == 6
    assert read(r"\lim_{x \to 0} \frac{\sin x}{x}") == sp.Limit(sp.sin(x) / x, x, 0, "+-")
    assert read(r"\lim_{x \to 0^+} \log x") == sp.Limit(sp.log(x), x, 0, "+")
    assert read(r"\lim_{x \to 0^{-}} x") == sp.Limit(x, x, 0, "-")
    assert read(r"\lim_{x \to \infty} \frac{1}{x}").doit() == 0
    assert "not a declared discrete variable" in refused(r"\sum_n n")


# -- probability notation ---------------------------------------------------------------------

def prob_context(**changes) -> Context:
    return Context(**({"discrete": {"x": 3, "y": 3, "z": 2}, "symbols": {"m": m}} | changes))


PX, PY, PZ = prob.variables("x y z")


def test_tables_are_created_once_per_context_and_reused():
    ctx = prob_context()
    first = parse(r"p(x)", ctx)
    p = ctx.tables["p(x)"]
    assert first == p(PX) and prob.table_of(first) is p
    assert parse(r"p(x) q(z|x)", ctx) == p(PX) * ctx.tables["q(z|x)"](PZ, PX)
    assert ctx.tables["q(z|x)"].given == (PX,)
    assert parse(r"q(z \mid x)", ctx) == ctx.tables["q(z|x)"](PZ, PX)
    assert parse(r"p_{data}(y|x) + q_m(y|x)", ctx) == \
        ctx.tables["p_data(y|x)"](PY, PX) + ctx.tables["q_m(y|x)"](PY, PX)
    assert parse(r"p(x|z,m)", ctx) == ctx.tables["p(x|z,m)"](PX, PZ)
    assert ctx.tables["p(x|z,m)"].depends_on is m
    assert parse(r"p(x)", ctx) == first  # the same table again


def test_a_prepared_table_is_used():
    data = prob.Table("p", PX, data=True)
    ctx = prob_context(tables={"p(x)": data})
    assert prob.table_of(parse(r"p(x)", ctx)) is data


def test_a_letter_on_non_discrete_arguments_is_no_table():
    assert parse(r"p(m)", prob_context()) == sp.Symbol("p", real=True) * m
    assert parse(r"p(x)", context()) == sp.Symbol("p", real=True) * x  # x is not discrete there


@pytest.mark.parametrize("latex, message", [
    (r"p(x,z)", "joint tables"), (r"p(x,z|m)", "joint tables"), (r"q(z|x|y|x)", "one conditional bar"),
    (r"p(m|x)", "first argument"), (r"p(x|a,b)", "at most one parameter"),
])
def test_what_cannot_be_a_table(latex, message):
    assert message in str(pytest.raises(LatexError, parse, latex, prob_context()).value)


def test_discrete_sums_extend_to_the_next_plus_or_minus():
    ctx = prob_context()
    value = parse(r"\sum_x p(x) \log q(x) - \sum_x p(x)\log p(x)", ctx)
    p, q = ctx.tables["p(x)"], ctx.tables["q(x)"]
    assert value == prob.S(p(PX) * sp.log(q(PX)), PX) - prob.S(p(PX) * sp.log(p(PX)), PX)
    assert parse(r"\sum_{x} p(x)", ctx) == prob.S(p(PX), PX)
    assert parse(r"\sum_{x,z} p(x) q(z|x)", ctx) == prob.S(p(PX) * ctx.tables["q(z|x)"](PZ, PX), PX, PZ)


def test_divergence_entropy_cross_entropy_and_expectation():
    ctx = prob_context()
    p, q = (parse(r"p(x)", ctx), parse(r"q(x)", ctx))
    spellings = (r"KL(p(x)||q(x))", r"KL(p\|q)", r"D_{KL}(p(x)||q(x))", r"D_{\mathrm{KL}}(p(x) \| q(x))")
    for latex in spellings:
        assert parse(latex, ctx) == prob.KL(p, q, PX)
    assert parse(r"H(p)", ctx) == parse(r"H(p(x))", ctx) == prob.H(p, PX)
    assert parse(r"CE(p(x),q(x))", ctx) == prob.CE(p, q, PX)
    assert parse(r"E_{p(x)}[\log q(x)]", ctx) == parse(r"\mathbb{E}_{p(x)}[\log q(x)]", ctx) \
        == prob.E(p, sp.log(q), PX)
    encoder = parse(r"q(z|x)", ctx)
    assert parse(r"E_{q(z|x)} \log p(x) + 1", ctx) == prob.E(encoder, sp.log(p), PZ) + 1
    assert parse(r"KL(q(z|x)||w(z|x))", ctx).args[2:] == (PZ,)  # summed over z only


def test_bare_table_names_with_one_discrete_variable():
    ctx = Context(discrete={"x": 2})
    assert parse(r"KL(p\|q)", ctx) == prob.KL(ctx.tables["p(x)"](PX), ctx.tables["q(x)"](PX), PX)
    message = str(pytest.raises(LatexError, parse, r"H(r)", prob_context()).value)
    assert "`H(r)`" in message and "no table r" in message


CE_ROWS = {  # lines 90-93
    90: r"- \sum_x p(x) \log q(x)",
    91: r"\sum_x p(x) ( - \log q(x) + \log p(x) - \log p(x))",
    92: r"\sum_x p(x) \log {p(x)\over q(x)} - \sum_x p(x) \log p(x)",
    93: r"-D_{KL}(p(x)||q(x)) + H(p) ",
}


def test_cross_entropy_rows_read_into_prob_expressions():
    ctx = Context(discrete={"x": 2})
    lhs = parse(r"CE(p(x),q(x))", ctx)
    p, q = ctx.tables["p(x)"](PX), ctx.tables["q(x)"](PX)
    assert lhs == prob.CE(p, q, PX)
    rows = {line: parse(latex, ctx) for line, latex in CE_ROWS.items()}
    assert rows[90] == -prob.S(p * sp.log(q), PX)
    assert rows[91] == prob.S(p * (-sp.log(q) + sp.log(p) - sp.log(p)), PX)
    assert rows[92] == prob.S(p * sp.log(p / q), PX) - prob.S(p * sp.log(p), PX)
    assert rows[93] == -prob.KL(p, q, PX) + prob.H(p, PX)
    # at support size 2 and a sample point of the logits: 90-92 equal CE, 93 does not (its sign)
    point = {sp.Symbol("a_p__0", real=True): 0.3, sp.Symbol("a_p__1", real=True): -1.1,
             sp.Symbol("a_q__0", real=True): 0.7, sp.Symbol("a_q__1", real=True): 0.2}
    for line, row in rows.items():
        instance = prob.instantiate(lhs, row, {PX: 2}, {})
        gap = float((instance.lhs - instance.rhs).subs(point))
        assert (abs(gap) < 1e-12) == (line != 93), (line, gap)


# -- the max-entropy derivative chain, lines 57-78 ---------------------------------------------

GRADIENT_ROWS = {  # right-hand sides, without `&=` and the trailing `\\`
    58: r"{\partial \over \partial m}  \int -f(x)\log f(x)dx",
    60: r"{\partial \over \partial m}  \int - {m\exp(mx) \over \exp m -1  } \log {m\exp(mx) \over \exp m -1  }dx",
    61: r"{\partial \over \partial m}  \int  {m\exp(mx) \over \exp m -1  } \left( \log (\exp m -1) - \log  m\exp(mx) \right ) dx",
    62: r"{\partial \over \partial m}  \left [ \log (\exp m -1) - \log  m +\int  {m\exp(mx) \over \exp m -1  } \left( -\log \exp(mx) \right ) dx \right ]",
    63: r"\left [ { \exp m \over \exp m -1} - {1\over m}  + {\partial \over \partial m} \int_0^1 - {\exp(mx) \over \exp m -1  } \left( mx \right ) d(mx) \right ]",
    64: r"\left [ { \exp m \over \exp m -1} - {1\over m}  - {\partial \over \partial m}  {[(mx - 1 )\exp (mx)]^1_0 \over \exp m -1  }  \right ]",
    65: r"\left [ { \exp m \over \exp m -1} - {1\over m}  - {\partial \over \partial m}  { (m-1)\exp(m) + 1 \over \exp m -1  }  \right ]",
    66: r"\left [ { \exp m \over \exp m -1} - {1\over m}  - {m\exp(m)\over \exp m -1 } +  { ((m-1)\exp(m) + 1)\exp m \over (\exp m -1 )^2 }  \right ]",
    67: r"""\left [  - {1\over m}+{ -(m-1)\exp m \over \exp m -1}  +  { (m-1)\exp(m) \exp m \over (\exp m -1 )^2 }
+ { \exp m \over (\exp m -1 )^2 }
\right ]""",
    70: r"""\left [  \begin{aligned} &-{1\over m}+{ (m-1)\exp m (1-\exp m)\over (\exp m -1)^2}  \
+  { (m-1)\exp(m) \exp m \over (\exp m -1 )^2 }
\\&+ { \exp m \over (\exp m -1 )^2 }
\end{aligned} \right ]""",
    74: r"""\left [  - {1\over m}+{ (m-1)\exp m \over (\exp m -1)^2}
+ { \exp m \over (\exp m -1 )^2 }
\right ]""",
    77: r"""\left [  - {1\over m}+{ (m)\exp m \over (\exp m -1)^2}
\right ]""",
}


@pytest.mark.parametrize("line", sorted(GRADIENT_ROWS))
def test_every_row_of_the_gradient_chain_equals_the_gradient(line):
    value = read(GRADIENT_ROWS[line]).doit()
    for m0 in (sp.Rational(7, 10), sp.Rational(23, 10)):
        got, expected = value.subs(m, m0).evalf(30), GRADIENT.subs(m, m0).evalf(30)
        assert abs(got - expected) < 1e-20, (line, m0, got, expected)


def test_the_gradient_chain_keeps_derivatives_and_integrals_unevaluated():
    assert read(GRADIENT_ROWS[60]) == sp.Derivative(sp.Integral(-F_M(x) * sp.log(F_M(x)), (x, 0, 1)), m)
    assert read(GRADIENT_ROWS[63]).has(sp.Derivative, sp.Integral)
    assert read(r"{\partial \over \partial m} H(f_m)") == read(GRADIENT_ROWS[58])  # line 57
    assert read(GRADIENT_ROWS[77]) == GRADIENT


# -- what is refused ------------------------------------------------------------------------------

@pytest.mark.parametrize("latex, message", [
    (r"\text{argmax}_m H(f_m)", "`\\text{argmax}`: argmax is not an expression deriv can evaluate"),
    (r"\operatorname*{argmax}_m a", "argmax is not an expression deriv can evaluate"),
    (r"\max_z a", "max is not an expression deriv can evaluate"),
    (r"\hat f(x)", "`\\hat f`: a decorated name (\\hat) is not an expression"),
    (r"\mathbb 1(x \in [0,1] )", "the indicator \\mathbb 1 is not an expression"),
    (r"\foo{x}", "could not read `\\foo{x}`: unknown command \\foo"),
    (r"x -", "could not read `x -`: not a well-formed expression"),
    (r"a = b", "relation symbol"),
    (r"f'(x)", "primes"),
    (r"(a + b", "`(` is never closed"),
    (r"a + b)", "`)` does not close anything"),
    (r"\left( a \right]", "`]` does not close `(`"),
    (r"\frac{}{a}", "empty numerator"),
    (r"E[a]", "needs its distribution"),
    (r"\partial a", "∂ outside a derivative"),
    ("", "there is no expression here"),
])
def test_what_cannot_be_read_is_refused_with_the_text_quoted(latex, message):
    assert message in refused(latex)


def test_results_are_expressions():
    assert all(isinstance(read(latex), sp.Expr) for latex in (r"1", r"a", r"\int_0^1 x dx", r"|a|"))


def test_marginal_inside_a_divergence_is_not_summed_again():
    from deriv import prob
    ctx = Context(discrete={"x": 2, "z": 2})
    value = parse(r"D_{KL}(\sum_z p_{data}(x) q_e(z|x) || \sum_z w(z) q_r(x|z))", ctx)
    (kl,) = value.atoms(prob.KL)
    assert [str(v) for v in kl.args[2:]] == ["x"]


def test_data_tables_and_kronecker_delta():
    from deriv import prob
    ctx = Context(discrete={"x": 2, "y": 2}, data={"p_emp"})
    value = parse(r"p_{data}(x) p_{emp}(x) q(x) \delta(y|x)", ctx)
    tables = {t.name: t for t in prob.tables_in(value)}
    assert tables["p_data"].data and tables["p_emp"].data and not tables["q"].data
    x, y = sorted(value.free_symbols, key=str)
    assert value.has(prob.delta(y, x))


def test_a_following_term_that_depends_on_the_summed_variable_is_ambiguous():
    ctx = Context(discrete={"x": 2, "z": 2})
    with pytest.raises(LatexError, match="does the sum over x before it cover this term"):
        parse(r"\sum_{x} p(x) \sum_z q(z|x) \log r(x|z) + \sum_z q(z|x) \log w(z)", ctx)
    inside = parse(r"\sum_{x} p(x) \left( \sum_z q(z|x) \log r(x|z) + \sum_z q(z|x) \log w(z) \right)", ctx)
    assert isinstance(inside, sp.Sum)
    two = parse(r"\sum_x p(x) \log q(x) - \sum_x p(x) \log p(x)", ctx)
    assert isinstance(two, sp.Add) and len(two.args) == 2


def test_one_letter_for_several_distributions_makes_distinct_tables():
    from deriv import prob
    ctx = Context(discrete={"x": 2, "z": 2})
    value = parse(r"\sum_z q(z) q(x|z)", ctx)
    assert sorted(t.name for t in prob.tables_in(value)) == ["q", "q_x_z"]


def test_a_divergence_after_a_sum_does_not_depend_on_its_summed_variables():
    from deriv import prob
    ctx = Context(discrete={"x": 2, "z": 2})
    value = parse(r"\sum_{x} p(x) D_{KL}(e(z|x) || w(z)) - D_{KL}(p(x) e(z|x) || w(z) g(x|z))", ctx)
    assert isinstance(value, sp.Add) and len(value.args) == 2
    assert any(isinstance(arg, sp.Sum) for arg in value.args)
    assert len(value.atoms(prob.KL)) == 2
