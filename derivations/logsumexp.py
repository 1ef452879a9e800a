"""MAP不等式: logsumexp -- the log partition function and its MAP lower bound (lines 393-403).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt):
- p(x, y) is a joint distribution, written p(x) p(y|x) with tables p(x) and `p_cond` = p(y|x);
  p(x) is then its marginal Σ_y p(x, y). x is a free index (every value of x is checked).
- Line 399 reads, literally, "p(x) = log Σ_y exp(log p(x, y))". The right side is
  log Σ_y p(x, y) = log p(x), so the left side p(x) is wrong (p(x) > 0 ≥ log p(x)); the
  document means log p(x) (line 395: "the log of the partition function"). Encoded as written,
  expected refuted; the intended line is checked as a claim. deriv's `corrected=` replaces the
  right side only: the corrected step keeps the written left side p(x) and drops the log,
  p(x) = Σ_y exp(log p(x, y)).
- Line 400: max_y over the support of y. deriv.prob has no max over a symbolic support (only
  Σ via sympy Sum, and KL/H/CE/E). A bound by a max is a bound by every term, so at every
  support size the step is checked as log Σ_y' p(x, y') ≥ log p(x, y) with y a free index (every
  y is checked). With max written out, the chain 399 -> 400 is checked in plain sympy at fixed
  sizes: a joint over |X| = 2, |Y| = 3 (and |X| = 3, |Y| = 5) as a softmax of real logits
  a[x, y], at x = 0, with sympy's Max over the explicit entries.
- The table p(x) is declared exactly as in cross_entropy.py: deriv's tables are shared by name
  across modules (sympy caches functions by name). data=True matters only to "= c + ..." steps,
  and there are none here.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import S, Table, variables

DOC = "000_7c2102692a30e2b4.txt"
log, exp = sp.log, sp.exp

x, y = variables("x y")
p = Table("p", x, data=True)          # p(x), the marginal
p_cond = Table("p_cond", y, given=x)  # p(y|x)
joint = p(x) * p_cond(y, x)           # p(x, y)

# line 399 at every support size
marginal = Derivation("map/logsumexp-marginal", "logsumexp of the joint is log p(x), and at least "
                      "max_y log p(x, y) (lines 399-400)",
                      source=DOC)
marginal.start(399, p(x))
marginal.eq(399, log(S(exp(log(joint)), y)), expect="refuted",
            note="the left side is log p(x), not p(x): log Σ_y exp(log p(x,y)) = log Σ_y p(x,y) = "
                 "log p(x) ≤ 0 < p(x); with the written left side p(x) the right side has no log",
            corrected=S(exp(log(joint)), y))
marginal.claim(399, log(p(x)), "eq", log(S(exp(log(joint)), y)))  # the intended line 399
# line 400 at every support size: "≥ max_y log p(x, y)" is "≥ log p(x, y) for every y" (y free,
# every value checked); the chain goes on from the right side of line 399 as written
marginal.start(399, log(S(exp(log(joint)), y)))
marginal.ge(400, log(joint))


def max_bound(n_x: int, n_y: int, at_x: int = 0) -> Derivation:
    """Lines 399-400 at fixed sizes: log Σ_y exp(log p(x,y)) ≥ max_y log p(x,y), sympy's Max."""
    logits = [[sp.Symbol(f"a[{i},{j}]", real=True) for j in range(n_y)] for i in range(n_x)]
    total = sp.Add(*[exp(a) for row in logits for a in row])
    table = [[exp(a) / total for a in row] for row in logits]  # p(x=i, y=j), a softmax over (x, y)
    d = Derivation(f"map/logsumexp-max-{n_x}x{n_y}",
                   f"logsumexp ≥ max (lines 399-400) at |X| = {n_x}, |Y| = {n_y}, x = {at_x}",
                   # logits in (-9, 9): entries up to 1 - 1e-7, so the bound is tested near
                   # degenerate distributions too (in (-3, 3) the gap never drops below 0.005)
                   source=DOC, domain={a: (-9, 9) for row in logits for a in row})
    d.start(399, log(sp.Add(*[exp(log(entry)) for entry in table[at_x]])))
    d.ge(400, sp.Max(*[log(entry) for entry in table[at_x]], evaluate=False))  # evaluating costs 1 s
    return d


max_bound(2, 3)
max_bound(3, 5)
