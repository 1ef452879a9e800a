"""特例五: VAE: 对比L2和L3 -- the joint KL L2 against the marginal KL L3 (lines 286-342).

The tables and L2, L3 are those of `derivations.vae_losses` (lines 195-204): p_data(x) is data,
the model is the encoder q_e(z|x), the decoder q_r(x|z) and the prior w(z).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt):
- Σ_z inside a KL argument (293-294) marginalises z out of the joint: L3 is a KL over x alone
  between p_data(x) Σ_z q_e(z|x) and Σ_z w(z) q_r(x|z) (as in vae_losses).
- Inside a sum over z, a log of Σ_z ... (295-322) has its own bound z: Σ_z w(z) q_r(x|z) is the
  decoder's marginal of x and Σ_z q_e(z|x) is 1 (line 301 writes it as 1).
- "c" absorbs data terms only (terms in p_data): at 297 it is -Σ_x p_data log p_data = H(p_data)
  (the p_data(x) dropped from "log Σ_z p_data(x) q_e(z|x)"); at 311 it is 0 -- the two sums of
  line 311 are exactly L2 and -L3 (the first one is line 261's expression for L2, whose "c" is
  also 0). The same c runs down each chain, so every "= c + ..." line is a const step.
- Line 323 "≤ 0" is the step from the right side of line 321 (the chain continues from what
  the document wrote, without c); since c = 0 at 311, line 324 L2 ≤ L3 follows, and it is
  checked as a claim of its own.
- The posterior of the generative model (321-322, 329) is
  w(z) q_r(x|z) / Σ_z w(z) q_r(x|z); a "perfect encoder" (329) is q_e(z|x) equal to it.
- "严格小于" (328, "strictly smaller") is a claim for every encoder; it fails at the perfect
  encoder, where the document itself (329) says the two are equal. It is encoded at that encoder.
- Line 288 "the joint negative KL is a lower bound of the marginal negative KL" and line 334
  ("the encoder ... produces a lower bound") are L2 ≤ L3.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import KL, S

from derivations.vae_losses import L2, L3, p_data, q_e, q_r, w, x, z

DOC = "000_7c2102692a30e2b4.txt"

log = sp.log
marginal_r = S(w(z) * q_r(x, z), z)                    # Σ_z w(z) q_r(x|z)
posterior = q_r(x, z) * w(z) / marginal_r              # lines 321-322: q_r(x|z) w(z) / Σ_z w(z) q_r(x|z)
# L2 - L3 = -Σ_x p_data(x) D_KL(q_e(z|x) || posterior): one Gibbs divergence between joints over (x, z)
gap_certificate = KL(p_data(x) * q_e(z, x), p_data(x) * posterior, x, z)
perfect = {q_e(z, x): w(z) * q_r(x, z) / marginal_r}  # line 329: the perfect encoder
L2_perfect, L3_perfect = L2.xreplace(perfect), L3.xreplace(perfect)

# lines 291-304: L3 written out
l3 = Derivation("vae/l3-expanded", "VAE L3: the marginal KL written out (lines 293-302)", source=DOC)
l3.start(293, L3)
l3.eq(295, S(S(p_data(x) * q_e(z, x) * (log(marginal_r) - log(S(p_data(x) * q_e(z, x), z))), z), x))
# line 297: c = H(p_data), the p_data(x) dropped from the normaliser Σ_z p_data(x) q_e(z|x)
l3.const(297, S(p_data(x) * S(q_e(z, x) * (log(marginal_r) - log(S(q_e(z, x), z))), z), x))
l3.const(299, S(p_data(x) * S(q_e(z, x) * log(marginal_r / S(q_e(z, x), z)), z), x))
l3.const(301, S(p_data(x) * S(q_e(z, x) * log(marginal_r / 1), z), x))

# lines 308-326: L2 - L3
diff = Derivation("vae/l2-minus-l3", "VAE: L2 - L3 is minus the expected KL to the posterior "
                  "(lines 310-324)", source=DOC)
diff.start(310, L2 - L3)
# line 311: c = 0 here (the two sums are L2 and -L3 exactly); still "= c + ...", a const step
diff.const(311, S(p_data(x) * q_e(z, x) * log(q_r(x, z) * w(z) / (p_data(x) * q_e(z, x))), x, z)
           - S(p_data(x) * q_e(z, x) * log(marginal_r / (p_data(x) * S(q_e(z, x), z))), x, z))
diff.const(315, S(p_data(x) * q_e(z, x) * (log(q_r(x, z) * w(z) / (p_data(x) * q_e(z, x)))
                                           - log(marginal_r / (p_data(x) * S(q_e(z, x), z)))), x, z))
diff.const(317, S(p_data(x) * q_e(z, x) * (log(q_r(x, z) * w(z) / marginal_r)
                                           - log(q_e(z, x) / S(q_e(z, x), z))), x, z))
diff.const(319, S(p_data(x) * S(q_e(z, x) * (log(q_r(x, z) * w(z) / marginal_r)
                                             - log(q_e(z, x) / 1)), z), x))
diff.const(321, -S(p_data(x) * KL(q_e(z, x), posterior, z), x))
diff.le(323, 0, certificate=gap_certificate)
diff.claim(324, L2, "le", L3, certificate=gap_certificate)

# lines 288-289, 328-329, 334, 340 (prose and the closing restatement)
prose = Derivation("vae/l2-vs-l3-prose", "VAE: L2 is a lower bound of L3, equal for a perfect "
                   "encoder (lines 288, 328-329, 334, 340)", source=DOC)
prose.claim(288, L2, "le", L3, certificate=gap_certificate)  # "联合分布的负KL是边缘分布的负KL的下界"
# line 328: the difference is the KL between the encoder and the model's posterior of z
prose.claim(328, L3 - L2, "eq", S(p_data(x) * KL(q_e(z, x), posterior, z), x))
# line 328: "严格小于" -- strictly smaller, for every encoder; false at the perfect encoder of 329
prose.claim(328, L2_perfect, "lt", L3_perfect, expect="refuted",
            note="L2 is not strictly smaller than L3: L3 - L2 = Σ_x p_data(x) D_KL(q_e(z|x) || "
                 "posterior) ≥ 0, which is 0 when q_e(z|x) is the posterior w(z)q_r(x|z)/Σ_z w(z)q_r(x|z) "
                 "(the document's own line 329); the true statement is L2 ≤ L3 (the next claims), "
                 "strict exactly when the encoder differs from the posterior where p_data > 0")
prose.claim(328, L2, "le", L3, certificate=gap_certificate)
prose.claim(329, L2_perfect, "eq", L3_perfect)  # "对于一个完美的编码器,这两项取到等号"
prose.claim(334, L2, "le", L3, certificate=gap_certificate)  # the encoder "产生了一个下界"
prose.claim(340, L2, "eq", -KL(p_data(x) * q_e(z, x), w(z) * q_r(x, z), x, z))
