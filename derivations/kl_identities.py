"""KL恒等式 -- three KL identities (CATSMILE-1019, lines 343-392).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt):
- 343-347: p(x), q(x) are distributions over x; "≤ 0" is Gibbs' inequality.
- 349-362: q(x) and q(y|x) are two different tables that share the letter q: q(x) a distribution
  over x, q(y|x) the conditional that augments both sides ("同一个条件概率增广"). Here it is
  the table `q_aug`. The brackets of 356-358 ("[ ... ] )") are unbalanced; read as [ ... ].
  Line 359 "…" elides steps; lines 360-361 restate the identity, checked as a claim, and so
  is the prose of line 351 (the KL is unchanged by the same augmentation on both sides).
- 365-391: p(x), e(z|x), w(z), g(x|z) as in the VAE sections (p the data, e the encoder, w the
  prior, g the decoder); Σ_z inside a KL argument marginalises z, so line 370 is a KL over x.
  Inside a sum over z, Σ_z ... in a log has its own bound z.
- 373-374: the factors "· e/(wg) · wg/e" of line 374 continue the argument of the log of 373.
- 376-379: the second sum is written without a log: Σ_{x,z} p(x)e(z|x) · w(z)g(x|z)/(p(x)e(z|x)),
  which is Σ_{x,z} w(z)g(x|z) = 1 (encoded as written, expected refuted).
- 386 "…" elides steps; 387-389 state the result (≥), checked as a claim from line 370's
  expression; line 367's prose says the same (the joint negative KL is a lower bound).
- The posterior of the generative side (377, 382) is w(z)g(x|z) / Σ_z w(z)g(x|z).
- deriv's tables are shared by name across modules (sympy caches functions by name), so p and q
  are declared exactly as in cross_entropy.py and w is the one of vae_losses.py.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import KL, S, Table, variables

from derivations.vae_losses import w

DOC = "000_7c2102692a30e2b4.txt"
log = sp.log

x, y, z = variables("x y z")
p = Table("p", x, data=True)        # p(x)  (no "= c + ..." here: data=True only matches cross_entropy.py)
q = Table("q", x)                   # q(x)
q_aug = Table("q_aug", y, given=x)  # q(y|x), the conditional on both sides (349-362)
e = Table("e", z, given=x)          # e(z|x)
g = Table("g", x, given=z)          # g(x|z)

# lines 343-347: the definition, and Gibbs' inequality
definition = Derivation("kl/definition", "KL: definition and -D_KL ≤ 0 (line 346)", source=DOC)
definition.start(346, -KL(p(x), q(x), x))
definition.eq(346, S(p(x) * (log(q(x)) - log(p(x))), x))
definition.le(346, 0, certificate=KL(p(x), q(x), x))

# lines 349-362: augmenting both sides with the same conditional leaves the KL unchanged
L_augmented = -KL(p(x) * q_aug(y, x), q(x) * q_aug(y, x), x, y)
augmented = Derivation("kl/augmented", "KL is unchanged when both sides are augmented by the same "
                       "conditional (lines 351-361)", source=DOC)
augmented.start(355, L_augmented)
augmented.eq(356, S(p(x) * q_aug(y, x) * (log(q(x) * q_aug(y, x)) - log(p(x) * q_aug(y, x))), x, y))
augmented.eq(357, S(p(x) * S(q_aug(y, x) * (log(q(x)) - log(p(x))), y), x))
augmented.eq(358, S(p(x) * (log(q(x)) - log(p(x))), x))
augmented.claim(361, L_augmented, "eq", -KL(p(x), q(x), x))  # 360-361, after the "…" of 359
augmented.claim(351, KL(p(x) * q_aug(y, x), q(x) * q_aug(y, x), x, y), "eq", KL(p(x), q(x), x))

# lines 365-391: the joint KL against the marginal KL
marginal_g = S(w(z) * g(x, z), z)          # Σ_z w(z) g(x|z)
posterior = w(z) * g(x, z) / marginal_g     # w(z)g(x|z) / Σ_z w(z)g(x|z)
L_marginal = -KL(S(p(x) * e(z, x), z), marginal_g, x)   # line 370 (and 387)
L_joint = -KL(p(x) * e(z, x), w(z) * g(x, z), x, z)      # lines 383, 389
gap_certificate = KL(p(x) * e(z, x), p(x) * posterior, x, z)  # Σ_x p(x) D_KL(e(z|x) || posterior)
expected_kl = S(p(x) * KL(e(z, x), posterior, z), x)    # line 382

joint = Derivation("kl/joint-vs-marginal", "The joint negative KL is a lower bound of the marginal "
                   "negative KL (lines 367-389)", source=DOC)
joint.start(370, L_marginal)
joint.eq(372, S(p(x) * e(z, x) * log(marginal_g / S(p(x) * e(z, x), z)), x, z))
# lines 373-374: the factors e/(wg) · wg/e are written inside the log (sympy keeps them as written)
joint.eq(373, S(p(x) * e(z, x) * log(sp.Mul(marginal_g / p(x), e(z, x) / (w(z) * g(x, z)),
                                            w(z) * g(x, z) / e(z, x), evaluate=False)), x, z))
joint.eq(375, S(p(x) * e(z, x) * log(sp.Mul(e(z, x) / posterior,
                                            w(z) * g(x, z) / (p(x) * e(z, x)), evaluate=False)), x, z))
as_written_376 = sp.Mul(p(x) * e(z, x), w(z) * g(x, z) / (p(x) * e(z, x)), evaluate=False)
joint.eq(376, S(p(x) * S(e(z, x) * log(e(z, x) / posterior), z), x) + S(as_written_376, x, z),
         expect="refuted",
         note="the second sum has lost its log: Σ_{x,z} p(x)e(z|x) · w(z)g(x|z)/(p(x)e(z|x)) = "
              "Σ_{x,z} w(z)g(x|z) = 1; splitting the log of line 375 gives "
              "Σ_{x,z} p(x)e(z|x) log(w(z)g(x|z)/(p(x)e(z|x))) = -D_KL(p(x)e(z|x) || w(z)g(x|z))",
         corrected=S(p(x) * S(e(z, x) * log(e(z, x) / posterior), z), x)
         + S(p(x) * e(z, x) * log(w(z) * g(x, z) / (p(x) * e(z, x))), x, z))
joint.eq(381, expected_kl + L_joint, expect="refuted",
         note="from line 376 as written (no log in the second sum) the right side is "
              "Σ_x p(x) D_KL(e(z|x) || posterior) + 1; line 381 follows from the corrected line 376 "
              "(and holds as an identity for line 370, the next claim)",
         corrected=expected_kl + 1)
# lines 370-384 as one identity: what the chain asserts once the log of line 376 is restored
joint.claim(381, L_marginal, "eq", expected_kl + L_joint)
# lines 386-389: after the "…", the result
joint.claim(389, L_marginal, "ge", L_joint, certificate=gap_certificate)
# line 367: "联合分布的负KL是边缘分布负KL的下界"
joint.claim(367, L_joint, "le", L_marginal, certificate=gap_certificate)
