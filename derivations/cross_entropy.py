"""特例二: 最大交叉熵问题 -- cross-entropy and KL (CATSMILE-1019, lines 84-112).

Readings:
- p(x) is the fixed target distribution (data), q(x) the model (line 86: "the parameters do not
  affect the initial entropy H(p)").
- Lines 101-104 are per input x: p_data(y|x) and q_m(y|x) are conditional tables over y, and x is
  a free index (every value of x is checked).
- "argmax_m A = argmax_m B" is read as "A - B does not depend on the model parameters" (a const
  step), the sufficient condition the document itself uses ("= c + ...").
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import CE, H, KL, S, Table, variables

DOC = "000_7c2102692a30e2b4.txt"
x, y = variables("x y")
p = Table("p", x, data=True)
q = Table("q", x)
p_data = Table("p_data", y, given=x, data=True)
q_m = Table("q_m", y, given=x)

identity = Derivation("cross-entropy/identity", "CE(p, q) in terms of KL and entropy", source=DOC)
identity.start(90, CE(p(x), q(x), x))
identity.eq(90, -S(p(x) * sp.log(q(x)), x))
identity.eq(91, S(p(x) * (-sp.log(q(x)) + sp.log(p(x)) - sp.log(p(x))), x))
identity.eq(92, S(p(x) * sp.log(p(x) / q(x)), x) - S(p(x) * sp.log(p(x)), x))
identity.eq(93, -KL(p(x), q(x), x) + H(p(x), x), expect="refuted",
            note="sign error: Σ p log(p/q) is +D_KL(p||q), so CE = D_KL(p||q) + H(p) (line 92 is right)",
            corrected=KL(p(x), q(x), x) + H(p(x), x))

# line 86 (prose): CE - H(p) = KL, and "maximising CE is equivalent to minimising KL"
prose = Derivation("cross-entropy/prose", "Line 86: CE, entropy and KL", source=DOC)
prose.claim(86, CE(p(x), q(x), x) - H(p(x), x), "eq", KL(p(x), q(x), x))
prose.claim(86, CE(p(x), q(x), x), "const", -KL(p(x), q(x), x), expect="refuted",
            note="CE = KL + H(p) with H(p) fixed, so maximising CE maximises KL; it is minimising CE "
                 "(maximising -CE) that minimises KL",
            corrected=KL(p(x), q(x), x))
prose.claim(86, -CE(p(x), q(x), x), "const", -KL(p(x), q(x), x))

# lines 99-105: the classifier objective
classifier = Derivation("cross-entropy/classifier", "argmax_m CE(p_data(y|x), q_m(y|x))", source=DOC)
classifier.start(102, CE(p_data(y, x), q_m(y, x), y))
classifier.const(104, -KL(p_data(y, x), q_m(y, x), y), expect="refuted",
                 note="CE - (-KL) = 2 KL + H(p_data) depends on m: argmax_m CE maximises the divergence; "
                      "the classifier is argmax_m -CE = argmax_m -KL",
                 corrected=KL(p_data(y, x), q_m(y, x), y))
classifier.claim(104, -CE(p_data(y, x), q_m(y, x), y), "const", -KL(p_data(y, x), q_m(y, x), y))
