"""特例五: VAE-L2 -- the KL between joints (lines 251-269) and the score-function gradient of its
entropy term (lines 271-284) of CATSMILE-1019.

L2, the tables and the readings of the arrow notation are those of `derivations.vae_losses`
(lines 195-204). Further readings (line numbers of 000_7c2102692a30e2b4.txt):
- Line 258: p_data(x, z) = p_data(x) q_e(z|x) and q(x, z) = w(z) q_r(x|z), as line 259 writes
  and the section title says: the chain starts at L2 of line 199.
- Line 265 writes `Σ_x p_data(x) Σ_z q_e log q_r + Σ_z q_e(z|x) log(w/q_e)` without brackets.
  Read literally, the second Σ_z stands outside Σ_x p_data(x), and x in it is a free index: the
  right-hand side would then be a function of x, not a number, and the line would not equal
  line 263 up to a constant. Nobody means that: the previous line (263) has the whole
  Σ_z q_e log(q_r w / q_e) inside Σ_x p_data(x), and the next line (266) puts both terms inside
  E_p_data(x)[...]. It is a missing bracket (a typo a careful reader reads through), not a
  mistake: both Σ_z terms are inside Σ_x p_data(x)[...].
- "= c + ..." (261-267): c absorbs terms that depend on p_data only (line 263 drops
  -Σ p_data log p_data); the model is q_e, q_r, w.
- Lines 271-284: L is "the second term" of line 267 (271: "其中第二项的梯度一定要求出 log q_e 才能
  计算"), the entropy term E_p_data[E_q_e[-log q_e(z|x)]] of the loss, and m is a parameter of
  the encoder. (L2 as a whole has other terms that depend on m through q_e, e.g.
  E_q_e[log q_r]; ∂L2/∂m is not line 275.) The encoder here is q_e with logits a + m·u, so
  ∂/∂m is defined (table q_e_m: a table name is global in deriv, see the report).
- Line 277 writes `-Σ_z (∂q_e) log q_e + q_e ∂ log q_e` inside E[...]: Σ_z covers both terms
  (z is free otherwise) and the minus applies to the whole sum, as line 282 (-(∂ log q_e)(1 +
  log q_e) under E_q_e) confirms. The other sign of the second term gives the same value:
  Σ_z q_e ∂_m log q_e = ∂_m Σ_z q_e = 0.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import E, KL, S, Table

from derivations.vae_losses import L2, p_data, q_e, q_r, w, x, z

DOC = "000_7c2102692a30e2b4.txt"

# lines 256-269: L2 from the joint KL to the usual VAE objective
l2 = Derivation("vae/l2", "VAE-L2: the KL between joints is the VAE objective (ELBO)", source=DOC)
l2.start(258, L2)
l2.eq(259, -KL(p_data(x) * q_e(z, x), q_r(x, z) * w(z), x, z))
l2.const(261, S(p_data(x) * q_e(z, x) * sp.log(q_r(x, z) * w(z) / (p_data(x) * q_e(z, x))), x, z))
l2.const(263, S(p_data(x) * S(q_e(z, x) * sp.log(q_r(x, z) * w(z) / q_e(z, x)), z), x))
# line 265: the second Σ_z is inside Σ_x p_data(x)[...] (missing bracket; see the docstring)
l2.const(265, S(p_data(x) * (S(q_e(z, x) * sp.log(q_r(x, z)), z)
                             + S(q_e(z, x) * sp.log(w(z) / q_e(z, x)), z)), x))
l2.const(266, E(p_data(x), E(q_e(z, x), sp.log(q_r(x, z)), z) - KL(q_e(z, x), w(z), z), x))
l2.const(267, E(p_data(x), E(q_e(z, x), sp.log(q_r(x, z)) - sp.log(q_e(z, x)) + sp.log(w(z)), z), x))

# lines 274-284: the gradient of the entropy term, in score-function (policy-gradient) form
m = sp.Symbol("m", real=True)
q_e_m = Table("q_e_m", z, given=x, depends_on=m)  # the encoder q_e(z|x) as a function of m
q, d = q_e_m(z, x), lambda f: sp.Derivative(f, m)
entropy_term = E(p_data(x), E(q, -sp.log(q), z), x)  # the second term of line 267

gradient = Derivation("vae/l2-gradient", "VAE-L2: ∂/∂m of the entropy term by the log-derivative trick",
                      source=DOC)
gradient.start(275, d(entropy_term))
gradient.eq(275, d(E(p_data(x), -S(q * sp.log(q), z), x)))
gradient.eq(277, E(p_data(x), -S(d(q) * sp.log(q) + q * d(sp.log(q)), z), x))
gradient.eq(279, E(p_data(x), -S(q * d(sp.log(q)) * sp.log(q) + q * d(sp.log(q)), z), x))
gradient.eq(282, E(p_data(x), E(q, -d(sp.log(q)) * (1 + sp.log(q)), z), x))
