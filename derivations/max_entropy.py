"""特例一: 最大熵问题 -- the max-entropy problem (CATSMILE-1019, lines 38-83).

Readings of the document's notation, each a choice a careful reader would make:
- Integrals without limits (lines 56-62) run over the support (0, 1) of line 40.
- `f` in lines 56-58 is the family f_m of line 52; line 60 substitutes its closed form (line 54).
- Line 63 writes `∫_0^1 ... d(mx)`: the limits belong to x (line 64 evaluates `[...]^1_0` at
  x = 1 and x = 0), and d(mx) = m dx. Read as a substitution u = mx with u running over (0, 1),
  the line would be wrong; the document's next line shows that is not what is meant.
- m > 0 in the chain: log(exp(m) - 1) and log(m) (line 61) are real only for m > 0. The final
  gradient (line 77) is the same function for m < 0, and the limit (line 82) is taken from both
  sides; the optimiser (line 81) starts on both sides of 0.
"""
import numpy as np
import sympy as sp

from deriv import Derivation, ExperimentResult

DOC = "000_7c2102692a30e2b4.txt"
m = sp.Symbol("m", positive=True)
x = sp.Symbol("x", real=True)
t = sp.Symbol("t", real=True)
E = sp.exp(m)
DOMAIN = {m: (0, 5), x: (0, 1), t: (0, 1)}


def H(f):
    """Differential entropy on (0, 1), line 40: H(f) = ∫ -f(x) log f(x) dx."""
    return sp.Integral(-f * sp.log(f), (x, 0, 1))


f_52 = sp.exp(m * x) / sp.Integral(sp.exp(m * t), (t, 0, 1))  # line 52, normaliser unevaluated
f_54 = m * sp.exp(m * x) / (E - 1)  # line 54
gradient_77 = -1 / m + m * E / (E - 1) ** 2  # line 77

# lines 42-45: the uniform density maximises H, with H = 0
uniform = Derivation("max-entropy/uniform", "The uniform density solves the max-entropy problem",
                     source=DOC, domain=DOMAIN)
uniform.claim(45, H(sp.Integer(1)), "eq", 0)
uniform.claim(44, H(f_54), "le", H(sp.Integer(1)))  # every f_m has entropy at most the uniform's
uniform.start(54, f_54).limit(44, m, 0, 1)  # the family contains the uniform density as m -> 0

# lines 52-54: the reparametrised family and its normaliser
family = Derivation("max-entropy/family", "Reparametrised family f_m and its normaliser",
                    source=DOC, domain=DOMAIN)
family.start(52, f_52)
family.eq(53, sp.exp(m * x) / ((E - 1) / m))
family.eq(54, m * sp.exp(m * x) / (E - 1))

# lines 55-58: the objective; argmax over m of H(f_m) is argmax of the integral
objective = Derivation("max-entropy/objective", "The objective H(f_m) and its gradient",
                       source=DOC, domain=DOMAIN, params=[m])
objective.start(55, H(f_52))
objective.const(56, sp.Integral(-f_52 * sp.log(f_52), (x, 0, 1)))
objective.claim(58, sp.Derivative(H(f_52), m), "eq",
                sp.Derivative(sp.Integral(-f_52 * sp.log(f_52), (x, 0, 1)), m))

# lines 58-77: the derivative chain, every line a step
gradient = Derivation("max-entropy/gradient", "∂H(f_m)/∂m, line by line", source=DOC, domain=DOMAIN)
gradient.start(58, sp.Derivative(sp.Integral(-f_52 * sp.log(f_52), (x, 0, 1)), m))
gradient.eq(60, sp.Derivative(sp.Integral(-f_54 * sp.log(f_54), (x, 0, 1)), m))
gradient.eq(61, sp.Derivative(sp.Integral(f_54 * (sp.log(E - 1) - sp.log(m * sp.exp(m * x))),
                                          (x, 0, 1)), m))
gradient.eq(62, sp.Derivative(sp.log(E - 1) - sp.log(m)
                              + sp.Integral(f_54 * (-sp.log(sp.exp(m * x))), (x, 0, 1)), m))
# line 63: ∫_0^1 -exp(mx)/(exp m - 1) (mx) d(mx), with d(mx) = m dx (see the module docstring)
gradient.eq(63, E / (E - 1) - 1 / m
            + sp.Derivative(sp.Integral(-sp.exp(m * x) / (E - 1) * (m * x) * m, (x, 0, 1)), m))
bracket = (m * x - 1) * sp.exp(m * x)  # line 64: [(mx - 1) exp(mx)]_0^1
gradient.eq(64, E / (E - 1) - 1 / m - sp.Derivative((bracket.subs(x, 1) - bracket.subs(x, 0)) / (E - 1), m))
gradient.eq(65, E / (E - 1) - 1 / m - sp.Derivative(((m - 1) * E + 1) / (E - 1), m))
gradient.eq(66, E / (E - 1) - 1 / m - m * E / (E - 1) + ((m - 1) * E + 1) * E / (E - 1) ** 2)
gradient.eq(67, -1 / m + (-(m - 1) * E) / (E - 1) + (m - 1) * E * E / (E - 1) ** 2 + E / (E - 1) ** 2)
gradient.eq(70, -1 / m + (m - 1) * E * (1 - E) / (E - 1) ** 2 + (m - 1) * E * E / (E - 1) ** 2
            + E / (E - 1) ** 2)
gradient.eq(74, -1 / m + (m - 1) * E / (E - 1) ** 2 + E / (E - 1) ** 2)
gradient.eq(77, gradient_77)
# line 82: "looks divergent, but tends to 0 near m = 0" -- the series is the hand computation
gradient.limit(82, m, 0, 0)


def _ascend(grad, m0: float, rate: float = 6.0, iterations: int = 200) -> float:
    value = m0
    for _ in range(iterations):
        g = grad(value)
        if g != g:  # NaN: exactly at m = 0 the formula is 0/0, and that is the optimum
            break
        value += rate * g
    return float(value)


def gradient_ascent() -> ExperimentResult:
    """Line 81: a plain gradient optimiser on H(f_m), with the derived gradient, finds m = 0.

    Run twice: in float64, as pytorch/jax would, and with the gradient at 60 digits. Near m = 0
    line 77 is a difference of two terms of size 1/m, and exp(m) - 1 keeps only about
    digits - log10(1/m) digits, so the rounding error of the gradient is about 10^-digits / m^2
    while its true value is about -m/12: the optimiser stalls where they meet, at
    |m| ≈ 10^(-digits/3) -- about 1e-5 in float64 (H then within 1e-9 of its maximum), about
    1e-20 at 60 digits. The stall is rounding, not a flaw of the formula.
    """
    import mpmath

    grad64 = sp.lambdify(m, gradient_77, "numpy")
    grad_mp = sp.lambdify(m, gradient_77, "mpmath")

    def grad60(value):
        with mpmath.workdps(60):
            return grad_mp(mpmath.mpf(value)) if value != 0 else float("nan")

    starts = (-3.0, -1.0, 0.5, 2.0, 4.0)
    ends64 = {m0: _ascend(lambda v: float(grad64(v)), m0) for m0 in starts}
    ends60 = {m0: _ascend(grad60, m0) for m0 in starts}
    worst64 = max(abs(v) for v in ends64.values())
    worst60 = max(abs(v) for v in ends60.values())
    entropy_gap = worst64 ** 2 / 24  # H(f_m) = -m^2/24 + O(m^4) near 0
    table = ", ".join(f"{m0:g}→{v:.1e}" for m0, v in ends64.items())
    return ExperimentResult(
        holds=worst64 < 1e-3 and worst60 < 1e-15,
        detail=(f"gradient ascent (rate 6, 200 steps) from 5 starts ends at |m| ≤ {worst64:.1e} in "
                f"float64 ({table}; H within {entropy_gap:.0e} of its maximum 0; float64 "
                f"cancellation in line 77 stalls it near |m| ≈ 1e-5) and |m| ≤ {worst60:.1e} "
                "with the gradient at 60 digits"),
        evidence={"float64_ends": {str(k): v for k, v in ends64.items()},
                  "mp60_ends": {str(k): v for k, v in ends60.items()}})


optimiser = Derivation("max-entropy/optimiser", "A gradient optimiser finds m = 0", source=DOC)
optimiser.experiment(81, "gradient ascent with the line-77 gradient converges to m = 0", gradient_ascent)
