"""特例五: VAE -- the losses L1, L2, L3 (lines 195-204) and VAE-L1 (lines 206-250) of CATSMILE-1019.

The definitions at the top (tables, q(y|x), L1, L2, L3) are shared: other sections import them
(`from derivations.vae_losses import L2, L3, p_data, q_e, q_r, w`).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt):
- Arrows (197-202, 211) are ancestral sampling: `p_data(x) → q_e(z|x)` is the joint
  p_data(x) q_e(z|x) over (x, z); `w(z) → q_r(x|z)` the joint w(z) q_r(x|z); and
  `p_data(x) → q_e(z|x) → q_r(y|z)` the joint p_data(x) q_e(z|x) q_r(y|z) over (x, z, y).
- L1 (197-198): the left side p_data(x) → δ(y|x) has no z, so the KL is between distributions
  over (x, y) and the right side is the (x, y)-marginal of the chain, with z summed out:
  q(y, x) = p_data(x) Σ_z q_e(z|x) q_r(y|z) = p_data(x) q(y|x) (lines 230, 234-235, 216-218).
- L2 (199-200): D_KL over (x, z) of the two joints.
- L3 (201-202): each Σ_z inside the KL marginalises z out of its joint, so L3 is a KL over x alone
  between p_data(x) Σ_z q_e(z|x) and Σ_z w(z) q_r(x|z).
- y is the auxiliary copy of x (225: "y = x"): it lives in the data space. The decoder q_r is a
  table over the data space (over x), so q_r(y|z) is q_r(y, z) and q_r(x|z) (L2) is the same
  table; sums over y run over the support of x (`S_y`). The engine gives every variable its own
  support size and cannot tie N_y to N_x, so y's own size N_y is never used.
- δ(y|x) is the Kronecker delta; "q(y=x|x)" (242) and "q_r(y=x|z)" (243) are q and q_r evaluated
  at y := x.
- 0·log 0 = 0 (the usual convention; the document needs it at 197, 231 and 241, where δ(y|x) = 0
  for y ≠ x). `KL_delta` writes D_KL(a(x)δ(y|x) || Q) with it: where δ = 0 the term is 0, where
  δ = 1, δ log(a δ) = δ log a. So D_KL(δ(y|x) || q(y|x)) = -log q(y=x|x) (241 → 242).
  (deriv's KL(P, Q) would evaluate 0·log 0 as nan, hence the explicit form.)
- "= c + ..." (234-244): c absorbs terms that depend on p_data only; the model is q_e, q_r, w.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import E, KL, S, Table, delta, size_of, variables

DOC = "000_7c2102692a30e2b4.txt"

# -- definitions (shared with the other VAE sections) ----------------------------------------

x, y, z = variables("x y z")
p_data = Table("p_data", x, data=True)  # the data distribution p_data(x)
q_e = Table("q_e", z, given=x)          # encoder q_e(z|x)
q_r = Table("q_r", x, given=z)          # decoder q_r(x|z), a distribution over the data space
w = Table("w", z)                       # prior w(z)


def S_y(body):
    """Σ_y over the data space: y is the copy of x (line 225), with x's support."""
    return sp.Sum(body, (y, 0, size_of(x) - 1))


def q_yx(y_, x_):
    """q(y|x) = Σ_z q_r(y|z) q_e(z|x), the encoder-decoder chain x → z|x → y|z (lines 211-218)."""
    return S(q_r(y_, z) * q_e(z, x_), z)


def KL_delta(a, Q, *outer):
    """D_KL(a·δ(y|x) || Q) summed over y (and the variables `outer`), with 0·log 0 = 0.

    a is the weight of the point mass (p_data(x), or 1 for the conditional δ(y|x)); where
    δ(y|x) = 0 the term is 0·log 0 = 0, where δ(y|x) = 1 it is a·(log a - log Q).
    """
    divergence = S_y(a * delta(y, x) * (sp.log(a) - sp.log(Q)))
    return S(divergence, *outer) if outer else divergence


# lines 197-198: -D_KL(p_data(x) → δ(y|x) || p_data(x) → q_e(z|x) → q_r(y|z)), z marginalised
L1 = -KL_delta(p_data(x), p_data(x) * q_yx(y, x), x)
# lines 199-200: -D_KL(p_data(x) → q_e(z|x) || w(z) → q_r(x|z)), joints over (x, z)
L2 = -KL(p_data(x) * q_e(z, x), w(z) * q_r(x, z), x, z)
# lines 201-202: -D_KL(Σ_z p_data(x) q_e(z|x) || Σ_z w(z) q_r(x|z)), marginals over x
L3 = -KL(p_data(x) * S(q_e(z, x), z), S(w(z) * q_r(x, z), z), x)


# -- derivations -----------------------------------------------------------------------------
# Built only when deriv loads this file as a derivation module. A section that imports the
# definitions above (as `derivations.vae_losses`) must not make these derivations a second time:
# deriv's loader would count them as derivations of the importing module too.

def _derivations():
    # lines 214-219: the reconstruction distribution q(y|x); y is free (every y, x is checked)
    chain = Derivation("vae/l1-reconstruction", "VAE-L1: q(y|x) = Σ_z q_r(y|z) q_e(z|x)",
                       source=DOC)
    joint_yz = q_r(y, z) * q_e(z, x)  # q(y, z|x) of the chain x → z|x → y|z (line 211)
    chain.start(216, q_yx(y, x))
    chain.eq(216, S(joint_yz, z))
    chain.eq(217, S(q_r(y, z) * q_e(z, x), z))  # q(y|z) q(z|x): the chain's decoder and encoder
    chain.eq(218, S(q_r(y, z) * q_e(z, x), z))

    # lines 228-246: L1 as the expected conditional KL, and its Jensen bound
    l1 = Derivation("vae/l1", "VAE-L1: expected KL of the conditional q(y|x), and its Jensen bound",
                    source=DOC)
    q = q_yx  # q(y|x), lines 216-218
    l1.start(197, L1)
    # line 230: p_data(y, x) = p_data(x) δ(y|x), q(y, x) = p_data(x) q(y|x)
    l1.eq(230, -KL_delta(p_data(x), p_data(x) * q(y, x), x))
    l1.eq(231, -KL_delta(p_data(x), p_data(x) * S(q_e(z, x) * q_r(y, z), z), x))
    # line 234: c = -Σ p_data(y, x) log p_data(y, x), the entropy of the data (0·log 0 = 0)
    l1.const(234, S(S_y(p_data(x) * delta(y, x) * sp.log(p_data(x) * q(y, x))), x))
    l1.const(235, S(S_y(p_data(x) * delta(y, x) * sp.log(p_data(x) * q(y, x))), x))
    l1.const(236, S(S_y(p_data(x) * delta(y, x) * (sp.log(p_data(x)) + sp.log(q(y, x)))), x))
    l1.const(237, S(p_data(x) * S_y(delta(y, x) * (sp.log(p_data(x)) + sp.log(q(y, x)))), x))
    l1.const(238, S(p_data(x) * (sp.log(p_data(x)) + S_y(delta(y, x) * sp.log(q(y, x)))), x))
    l1.const(239, S(p_data(x) * S_y(delta(y, x) * sp.log(q(y, x))), x))
    l1.const(240, E(p_data(x), S_y(delta(y, x) * sp.log(q(y, x))), x))
    l1.const(241, -E(p_data(x), KL_delta(1, q(y, x)), x))  # D_KL(δ(y|x) || q(y|x)), 0·log 0 = 0
    l1.const(242, E(p_data(x), sp.log(q(x, x)), x))  # q(y=x|x): q(y|x) at y := x
    l1.const(243, E(p_data(x), sp.log(S(q_r(x, z) * q_e(z, x), z)), x))
    # line 244: the same c on both sides. The document's reason is Jensen for log under
    # q_e(z|x), for each x: the gap is E_p_data[Jensen(q_e(z|x), q_r(x|z))], i.e.
    #     certificate=E(p_data(x), Jensen(q_e(z, x), q_r(x, z), z), x)
    # but deriv cannot check a lemma whose distribution depends on an index bound outside it
    # (q_e(z|x) inside E over x: it raises "table entries with non-concrete indices remain").
    # The same gap is one Gibbs divergence between joints over (x, z): each per-x Jensen gap
    # is D_KL(q_e(z|x) || posterior(z|x)), posterior ∝ q_e(z|x) q_r(x|z).
    posterior = q_e(z, x) * q_r(x, z) / S(q_e(z, x) * q_r(x, z), z)
    l1.ge(244, E(p_data(x), E(q_e(z, x), sp.log(q_r(x, z)), z), x),
          certificate=KL(p_data(x) * q_e(z, x), p_data(x) * posterior, x, z))

    # lines 191-192 and 226 (prose): L1 fits the conditional q(y|x) "in expectation over
    # p_data(x)" -- it is the expected conditional KL of line 241, and the constant c is 0
    prose = Derivation("vae/l1-prose", "VAE-L1 is the expected conditional KL; the VAE adds a "
                       "regulariser to its bound (lines 191-192, 226, 249)", source=DOC)
    prose.claim(226, L1, "eq", -E(p_data(x), KL_delta(1, q_yx(y, x)), x))
    # line 249: the VAE loss (L2, line 193) is the bound of line 244 plus a regulariser that pulls
    # q_e(z|x) towards the prior q_w(z) = w(z): L2 = c + bound - E_p_data[D_KL(q_e(z|x) || w(z))]
    bound = E(p_data(x), E(q_e(z, x), sp.log(q_r(x, z)), z), x)
    prose.claim(249, L2, "const", bound - E(p_data(x), KL(q_e(z, x), w(z), z), x))


if __name__ != "derivations.vae_losses":
    _derivations()
