"""草稿 (draft) -- augmented KL, the prior-weighted autoencoder L2, L_VAE, and the MAP estimate of
the evidence (CATSMILE-1019, lines 409-554).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt). The draft reuses
symbols with different meanings in different blocks; each block's reading is stated here.

Spaces and tables
- x is the data variable, z the latent, y the auxiliary copy of x (line 225: "y = x"): y lives in
  the data space, so every table over y is a table over x's support applied at y, and Σ_y runs
  over x's support (`S_y`). deriv gives every variable its own support size and cannot tie N_y
  to N_x, so y's own size is never used (free values of y stay inside x's support: deriv takes
  the first index values at the larger sizes).
- p_data(y, x) = p_data(x) δ(y|x), as in L1 (lines 230-231); the draft's "Σ_{x=y}" (440-444)
  is the sum restricted to y = x, i.e. Σ_{x,y} δ(y|x) (...). E_{p_data(y,x)}[f] (439, 488-496,
  507-509) is Σ_{x,y} p_data(x) δ(y|x) f.
- 0·log 0 = 0. Where the document writes p_data(y,x)·log p_data(y,x) (435), and inside every
  D_KL(p_data(y,x) ... || ...), the factor δ(y|x) = 0 kills the term, and where δ = 1,
  log p_data(y, x) = log p_data(x). The module writes log p_data(x) there (deriv would evaluate
  0·log 0 as nan).
- q_e(z|x) encoder, q_r(x|z) decoder (over the data space; q_r(y|z) is this table at y), w(z)
  prior, p_data(x) data: the same tables as `derivations.vae_losses` (same names and shapes --
  a table name is global in deriv).
- "c" is a term constant in the model tables (data only). Every "= c + ..." is a const step.

Lines 414-448 (augmented KL)
- 414 (prose, Su's inequality for augmented variables): "if the joint of x and z is fitted well,
  so is x itself": D_KL(p(x) || q(x)) ≤ D_KL(p(x,z) || q(x,z)) for any joints, the marginals
  being Σ_z of the joints. Encoded with generic tables (P = p_data(x) p_aug(z|x),
  Q = q_aug(x) q_aug_zx(z|x)).
- 416 (prose): "augmenting two different distributions by the same conditional leaves the KL
  unchanged": D_KL(P g || Q g) = D_KL(P || Q) for generic joints P(y,x), Q(y,x) over a
  separate variable y and any conditional g(z|x,y).
- 420-424: the same identity with the draft's p_data(y,x) = p_data(x) δ(y|x); q(y,x) a generic
  model joint over the data square, q_aug_x(x) q_aug_c(y|x); g(z|x,y) a generic conditional
  table over z. The identity holds for every normalised g, the g of 427-428 included (checked
  separately with that g). The chain 431-448 uses the same generic q(y,x) and g.
- 426-429: h(x,z,y) is defined by line 428: h = [q(z) q(z|x)] q(y|z) = w(z) q_e(z|x) q_r(y|z).
  g(z|x,y) is a conditional distribution over z (the notation says so): Σ_z g = 1, claimed at 427.
- 431-448: L is defined at 432-434 up to its c; the chain starts at -D_KL (c dropped) and every
  line is a const step. "log q(y,x) g(z|x,y)" (436, 438) is log of the product (440 splits it).
  437 drops the term -Σ p_data log p_data (data only: Σ_z g = 1). 441-443: sympy cancels
  +E[H] - E[H] at once, so line 443's expression is the bare middle term; the value is the same.

Lines 452-466 (the prior-weighted reconstruction q(y|x))
- The model of the draft: z|x combines encoder and prior (462-463), y|z is the decoder, so
  q(y,z|x) ∝ q_r(y|z) q_e(z|x) w(z), normalised over (y, z) jointly. 454 starts from
  Σ_z q(y,z|x) with that joint; y and x are free indices.
- 455 "∝" (in y, for fixed x): A(y) ∝ B(y) with A a distribution over y means A = B / Σ_y B.
  The step is encoded as that equality.
- 456: Z_{e,w}(x) is the Z(x) of line 457. The normalisation is right: Σ_{y,z} q_r q_e w =
  Σ_z q_e w because Σ_y q_r(y|z) = 1 (claim at 457), and Σ_y q(y|x) = 1 (claim at 456).
- 458: q_eh(z|x) = q_e w / Σ_z q_e w is normalised (464: "归一化的概率 q_eh", claim at 458) and
  q(y|x) = Σ_z q_r(y|z) q_eh(z|x) ("sampling on q_eh", 464-466; claim at 464).

Lines 468-481 (L2 of the draft)
- q(y, x) = p_data(x) q(y|x) with q(y|x) of line 456 (as in L1, line 235). Then
  L2 = -D_KL(p_data(y,x) || q(y,x)) = E_p_data(x)[log q(y=x|x)] exactly: the c of 472-474 is 0.
- 473-480: "q_r(y|z)" under E_p_data(x) is q_r(y=x|z) (the expectation is over x only; line 472
  sets y = x).
- 475: the ≥ drops "c +": with c = 0 (above) it is Jensen's inequality for log under q_eh(z|x).
  Certificate: E_p_data(x)[Jensen gap of q_r(x|z) under q_eh(z|x)].
- 478 "…" is a gap in the derivation; 479 restarts from L2 (line 471); 480 "≥ c + ..." is read
  with c = 0 (the c of 472), Jensen under q_e(z|x) with integrand q_r(x|z) w(z)
  (Σ_z q_e log Z = log Z).

Lines 484-498 (L_VAE)
- 484: "on the original expression, forcibly add the expectation of a KL": L_VAE is L1 (lines
  228-244: q(y|x) = Σ_z q_r(y|z) q_e(z|x), no prior) plus E[-D_KL(q_e(z|x) || w(z))]; q(z|x) in
  488 is q_e(z|x) (490 writes q_e). So the q(y,x) of 488 is p_data(x) Σ_z q_r(y|z) q_e(z|x), not
  the draft's q(y|x) of 456. c = 0 as in L1 (the ≥ at 490 drops it). (With the q(y|x) of 456
  instead, the ≥ at 490 is false: deriv refutes it at [x:2,y:2,z:2].)
- 490: "q_r(y=x|z)" under E_p_data(y,x) is q_r(x|z); 494-496 write q_r(y|z) with y bound by the
  expectation (δ(y|x) makes it the same).

Lines 506-510 (L2 - L_VAE)
- 507 writes "E log[ A - log B ]" with A = q_r w / Σ_z q_e w (the argument of 480) and
  B = q_r w / q_e (the argument of 497): the first "log[" is read as "[log" (E[log A - log B]).
  z is free in 507-509 as written; the z-expectation E_{q_e(z|x)} of 480 and 497, from which the
  two logs come, is read as implied (Σ_z q_e(z|x) [...]). (Read with z free, the right-hand
  side depends on z and cannot equal L2 - L_VAE either.)
- L2 and L_VAE are the quantities defined at 470-471 and 488 (with L_VAE's c, so 507 is a const
  step). What 507 computes is the difference of their lower bounds, line 480 minus line 497; that
  identity is claimed separately (true).

Lines 514-553 (first principles)
- 519-522: q_w(x, z) = q_D(x|z) q_w(z) (the latent decomposition of 515, written at 521);
  q_w(z) is a prior table over z.
  518 takes a KL against q_w(x), so q_w(x) is a distribution over x (claim at 518).
- 535-537: under the flat prior q_w(z) = c of line 530 (c a positive constant); 535-536 also hold
  for any prior (checked with the table q_w).
- 548-553: line 544 sets q_w(z) = 1 (not the normalised flat prior 1/N_z: with 1/N_z, line 551
  would be off by the factor N_z). sympy evaluates exp(log(a)) to a, so 550-551 are identities.
  552 "≈" is read, as the brief says, as the claim that the MAP (best point) estimate is a LOWER
  bound: exp max_z log q_D(x|z) ≤ Σ_z exp log q_D(x|z) (the document's "≈" itself is not an
  equality one can check). max_z is `max_over(f, z)`, which becomes sympy's Max of the N_z terms
  at a concrete support size.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import E, H, KL, S, Table, delta, size_of, variables
from deriv.probcheck import Jensen

DOC = "000_7c2102692a30e2b4.txt"

x, y, z = variables("x y z")
p_data = Table("p_data", x, data=True)  # p_data(x)
q_e = Table("q_e", z, given=x)          # encoder q_e(z|x)
q_r = Table("q_r", x, given=z)          # decoder q_r(x|z), over the data space
w = Table("w", z)                       # prior w(z)


def S_y(body, var=y):
    """Σ_y over the data space (y is the copy of x, line 225)."""
    return sp.Sum(body, (var, 0, size_of(x) - 1))


def S_xy(body):
    """Σ_{x,y} over the data square."""
    return S(S_y(body), x)


P = p_data(x) * delta(y, x)  # p_data(y, x) = p_data(x) δ(y|x)


def E_pyx(f):
    """E_{p_data(y,x)}[f] = Σ_{x,y} p_data(x) δ(y|x) f."""
    return S_xy(P * f)


def neg_KL_data(Q):
    """-D_KL(p_data(y,x) || Q(y,x)) with 0·log 0 = 0: where δ(y|x) = 1, log p_data(y,x) = log p_data(x)."""
    return -S_xy(P * (sp.log(p_data(x)) - sp.log(Q)))


class MaxOver(sp.Function):
    """max_var body over the support of a discrete variable; sympy's Max of the terms once the
    support size is a number (deriv substitutes sizes first, then free indices)."""

    nargs = 3

    @classmethod
    def eval(cls, body, var, size):
        if size.is_Integer:
            return sp.Max(*[body.xreplace({var: sp.Integer(i)}) for i in range(int(size))])
        return None

    @property
    def free_symbols(self):  # var is bound
        body, var, size = self.args
        return (body.free_symbols - {var}) | size.free_symbols


def max_over(body, var):
    return MaxOver(body, var, size_of(var))


# ============================================================================================
# lines 414-424: the augmented-variable KL
# ============================================================================================

# generic joints for the prose claims (y a variable of its own here: no δ, no y = x)
p_aug = Table("p_aug", z, given=x, data=True)          # p(z|x) of a data joint p(x, z)
q_aug = Table("q_aug", x)                               # q(x)
q_aug_zx = Table("q_aug_zx", z, given=x)                # q(z|x): q(x, z) = q(x) q(z|x)
p_aug_y = Table("p_aug_y", y, given=x, data=True)       # p(y|x) of a data joint p(y, x)
q_aug_y = Table("q_aug_y", y, given=x)                  # q(y|x) of a model joint q(y, x) = q(x) q(y|x)
g_y = Table("g_aug_y", z, given=(x, y))                 # any conditional g(z|x, y)

# the draft's tables on the data square (y on x's support)
q_aug_x = Table("q_aug_x", x)                           # q(y, x) = q_aug_x(x) q_aug_c(y|x)
q_aug_c = Table("q_aug_c", x, given=x)                  # q_aug_c(y|x), applied as q_aug_c(y, x)
g_aug = Table("g_aug", z, given=(x, x))                 # g(z|x, y), applied as g_aug(z, x, y)


def q_sq(y_, x_):
    """The generic model joint q(y, x) of lines 420-448."""
    return q_aug_x(x_) * q_aug_c(y_, x_)


def h_doc(x_, z_, y_):
    """h(x, z, y) of line 428: [q(z) q(z|x)] q(y|z) = w(z) q_e(z|x) q_r(y|z)."""
    return w(z_) * q_e(z_, x_) * q_r(y_, z_)


def g_doc(z_, x_, y_):
    """g(z|x, y) of lines 427-428."""
    return h_doc(x_, z_, y_) / S(h_doc(x_, z, y_), z)


augmented = Derivation("draft/augmented-kl", "Augmented variables and KL (lines 414-424)", source=DOC)
# line 414 (prose): the KL of the marginals is at most the KL of the joints
P_xz, Q_xz = p_data(x) * p_aug(z, x), q_aug(x) * q_aug_zx(z, x)
augmented.claim(414, KL(S(P_xz, z), S(Q_xz, z), x), "le", KL(P_xz, Q_xz, x, z),
                certificate=KL(P_xz, p_data(x) * q_aug_zx(z, x), x, z))
# line 416 (prose): the same conditional g augmenting two joints leaves the KL unchanged
P_yx, Q_yx = p_data(x) * p_aug_y(y, x), q_aug(x) * q_aug_y(y, x)
augmented.claim(416, -KL(P_yx * g_y(z, x, y), Q_yx * g_y(z, x, y), x, y, z), "eq",
                -KL(P_yx, Q_yx, x, y))
# lines 420-424, p_data(y,x) = p_data(x) δ(y|x), generic q(y,x) and g(z|x,y)
g = g_aug(z, x, y)
Q = q_sq(y, x)
augmented.claim(423, -S_xy(S(P * g * (sp.log(p_data(x) * g) - sp.log(Q * g)), z)), "eq",
                neg_KL_data(Q))
# lines 420-424 with the g of lines 427-428
gd = g_doc(z, x, y)
augmented.claim(423, -S_xy(S(P * gd * (sp.log(p_data(x) * gd) - sp.log(Q * gd)), z)), "eq",
                neg_KL_data(Q))

# lines 426-429: g(z|x,y)
g_def = Derivation("draft/g", "g(z|x,y) from h(x,z,y) (lines 426-429)", source=DOC)
g_def.start(427, h_doc(x, z, y) / S(h_doc(x, z, y), z))
g_def.eq(428, (w(z) * q_e(z, x)) * q_r(y, z) / S((w(z) * q_e(z, x)) * q_r(y, z), z))
g_def.claim(427, S(g_doc(z, x, y), z), "eq", 1)  # g(z|x,y) is a distribution over z

# lines 431-448: L, term by term (p_data(y,x) = p_data(x) δ(y|x); 0·log 0 = 0)
chain = Derivation("draft/augmented-chain", "L = c - D_KL(p_data g || q g), line by line (431-448)",
                   source=DOC)
chain.start(433, -S_xy(S(P * g * (sp.log(p_data(x) * g) - sp.log(Q * g)), z)))
chain.const(436, -S_xy(S(P * g * (sp.log(p_data(x)) + sp.log(g)), z))
            + S_xy(S(P * g * sp.log(Q * g), z)))
chain.const(438, -S_xy(P * S(g * sp.log(g), z)) + S_xy(P * S(g * sp.log(Q * g), z)))
# line 440: Σ_{x=y} restricts the sum to y = x: Σ_{x,y} δ(y|x) (...)
chain.const(440, E_pyx(H(g, z)) + S_xy(delta(y, x) * P * S(g * (sp.log(Q) + sp.log(g)), z)))
chain.const(443, E_pyx(H(g, z)) + S_xy(delta(y, x) * P * S(g * sp.log(Q), z)) - E_pyx(H(g, z)))
chain.const(444, S_xy(delta(y, x) * P * sp.log(Q)))
chain.const(447, neg_KL_data(Q))

# ============================================================================================
# lines 452-466: q(y|x) with the prior, Z(x), q_eh
# ============================================================================================

yp = sp.Symbol("yp", integer=True, nonnegative=True)  # a bound copy of y


def Z(x_):
    """Z(x) = Σ_z q_e(z|x) w(z), line 457 (= Z_{e,w}(x) of line 456)."""
    return S(q_e(z, x_) * w(z), z)


def q_eh(z_, x_):
    """q_eh(z|x) = q_e(z|x) w(z) / Σ_z q_e(z|x) w(z), line 458."""
    return q_e(z_, x_) * w(z_) / Z(x_)


def q_draft(y_, x_):
    """q(y|x) = Σ_z q_r(y|z) q_e(z|x) w(z) / Z_{e,w}(x), line 456."""
    return S(q_r(y_, z) * q_e(z, x_) * w(z), z) / Z(x_)


def J(y_):
    """q_r(y|z) q_e(z|x) w(z): the unnormalised q(y, z|x) of line 455."""
    return q_r(y_, z) * q_e(z, x) * w(z)


posterior = Derivation("draft/prior-weighted-q", "q(y|x) with encoder and prior, Z(x), q_eh (lines 452-466)",
                       source=DOC)
joint_norm = S_y(S(J(yp), z), yp)  # Σ_{y,z} q_r(y|z) q_e(z|x) w(z)
posterior.start(454, S(J(y) / joint_norm, z))  # Σ_z q(y,z|x), q(y,z|x) ∝ q_r q_e w over (y, z)
posterior.eq(455, S(J(y), z) / S_y(S(J(yp), z), yp))  # "∝" in y: normalised over y
posterior.eq(456, S(q_r(y, z) * q_e(z, x) * w(z), z) / Z(x))
posterior.claim(457, joint_norm, "eq", S(q_e(z, x) * w(z), z))  # Z(x) is the normaliser of 455
posterior.claim(456, S_y(q_draft(yp, x), yp), "eq", 1)  # q(y|x) of 456 is normalised over y
posterior.claim(458, S(q_eh(z, x), z), "eq", 1)  # q_eh is a normalised distribution (464)
posterior.claim(464, q_draft(y, x), "eq", S(q_r(y, z) * q_eh(z, x), z))  # sampling z from q_eh

# ============================================================================================
# lines 468-481: L2 of the draft
# ============================================================================================

L2 = neg_KL_data(p_data(x) * q_draft(y, x))  # q(y, x) = p_data(x) q(y|x), q(y|x) of line 456


l2 = Derivation("draft/l2", "L2 = -D_KL(p_data(y,x) || q(y,x)) with the prior-weighted q (lines 468-481)",
                source=DOC)
l2.start(471, L2)
l2.const(472, E(p_data(x), sp.log(q_draft(x, x)), x))  # q(y=x|x)
l2.const(473, E(p_data(x), sp.log(S(q_r(x, z) * q_e(z, x) * w(z), z)) - sp.log(Z(x)), x))
l2.const(474, E(p_data(x), sp.log(S(q_e(z, x) * w(z) / S(q_e(z, x) * w(z), z) * q_r(x, z), z)), x))
# line 475-476: Jensen under q_eh(z|x); c = 0 (see the docstring)
l2.ge(476, E(p_data(x), S(q_e(z, x) * w(z) / S(q_e(z, x) * w(z), z) * sp.log(q_r(x, z)), z), x),
      certificate=E(p_data(x), Jensen(q_eh(z, x), q_r(x, z), z), x))
l2.eq(477, E(p_data(x), E(q_eh(z, x), sp.log(q_r(x, z)), z), x))
# line 465 (prose): "the two lower bounds (477 and 480) are not equivalent" -- true, and neither
# dominates (deriv refutes =, ≤ and ≥ between them at [x:2,z:2]); deriv has no ≠ relation, so it
# is not a step here.
# line 478 "…"; lines 479-480 restart from L2: Jensen under q_e(z|x) with integrand q_r w; c = 0
bound_480 = E(p_data(x), S(q_e(z, x) * sp.log(q_r(x, z) * w(z) / S(q_e(z, x) * w(z), z)), z), x)
l2.start(479, L2)
l2.ge(480, bound_480,
      certificate=E(p_data(x), Jensen(q_e(z, x), q_r(x, z) * w(z), z), x))

# ============================================================================================
# lines 484-498: L_VAE
# ============================================================================================


def q_L1(y_, x_):
    """q(y|x) = Σ_z q_r(y|z) q_e(z|x): L1's reconstruction (line 218), no prior."""
    return S(q_r(y_, z) * q_e(z, x_), z)


L_VAE = neg_KL_data(p_data(x) * q_L1(y, x)) + E_pyx(-KL(q_e(z, x), w(z), z))  # line 488, c = 0

lvae = Derivation("draft/l-vae", "L_VAE = L1 + E[-D_KL(q_e || w)] and its lower bound (lines 484-498)",
                  source=DOC)
lvae.start(488, L_VAE)
lvae.ge(490, E_pyx(E(q_e(z, x), sp.log(q_r(x, z)), z) - KL(q_e(z, x), w(z), z)),
        certificate=E(p_data(x), Jensen(q_e(z, x), q_r(x, z), z), x))
lvae.eq(492, E_pyx(S(q_e(z, x) * sp.log(q_r(x, z)), z)
                   + S(q_e(z, x) * (sp.log(w(z)) - sp.log(q_e(z, x))), z)))
lvae.eq(494, E_pyx(S(q_e(z, x) * (sp.log(q_r(y, z)) + sp.log(w(z)) - sp.log(q_e(z, x))), z)))
bound_497 = E_pyx(S(q_e(z, x) * sp.log(q_r(y, z) * w(z) / q_e(z, x)), z))
lvae.eq(497, bound_497)

# ============================================================================================
# lines 506-510: L2 - L_VAE
# ============================================================================================

diff_507 = E_pyx(S(q_e(z, x) * (sp.log(q_r(y, z) * w(z) / Z(x))
                                  - sp.log(q_r(y, z) * w(z) / q_e(z, x))), z))
true_difference = E(p_data(x), sp.log(S(q_eh(z, x) * q_r(x, z), z)) - sp.log(S(q_e(z, x) * q_r(x, z), z))
                    + KL(q_e(z, x), w(z), z), x)

difference = Derivation("draft/l2-minus-lvae", "L2 - L_VAE (lines 506-510)", source=DOC)
difference.start(506, L2 - L_VAE)
# const: L_VAE carries a "c" (line 488), so L2 - L_VAE is only defined up to a data constant
difference.const(507, diff_507, expect="refuted",
                 note="507 is the difference of the two LOWER BOUNDS (line 480 minus line 497), not of "
                      "L2 and L_VAE: the Jensen gaps of L2 (under q_e, integrand q_r w) and of L1 (under "
                      "q_e, integrand q_r) differ and depend on the model. The true difference is "
                      "E_p_data(x)[log Σ_z q_eh(z|x) q_r(x|z) - log Σ_z q_e(z|x) q_r(x|z) + "
                      "D_KL(q_e(z|x) || w(z))]",
                 corrected=true_difference)
difference.eq(509, E_pyx(S(q_e(z, x) * sp.log(q_e(z, x) / Z(x)), z)))
# what line 507 computes: the bound of line 480 minus the bound of line 497
difference.claim(507, bound_480 - bound_497, "eq", diff_507)

# ============================================================================================
# lines 514-553: first principles, flat prior, MAP estimate
# ============================================================================================

q_D = Table("q_D", x, given=z)   # decoder q_D(x|z), line 515
q_w = Table("q_w", z)            # prior q_w(z) (a table of its own: deriv tells tables apart by signature)


def q_w_joint(x_, z_):
    """q_w(x, z) = q_D(x|z) q_w(z) (line 521)."""
    return q_D(x_, z_) * q_w(z_)


marginal = Derivation("draft/first-principles", "L(w) and q_w(x) = Σ_z q_D(x|z) q_w(z) (lines 514-523)",
                      source=DOC)
marginal.start(519, S(q_w_joint(x, z), z))
marginal.eq(521, S(q_D(x, z) * q_w(z), z))
marginal.eq(522, S(q_D(x, z) * q_w(z), z))
marginal.claim(518, S(S(q_D(x, z) * q_w(z), z), x), "eq", 1)  # q_w(x) is a distribution (518's KL)

flat = Derivation("draft/flat-posterior", "Posterior of z under a flat prior (lines 530-538)", source=DOC)
flat.start(535, q_w_joint(x, z) / S(q_w_joint(x, z), z))  # any prior q_w(z)
flat.eq(536, q_w(z) * q_D(x, z) / S(q_w(z) * q_D(x, z), z))
c = sp.Symbol("c", positive=True)  # q_w(z) = c, line 530
flat.start(535, c * q_D(x, z) / S(c * q_D(x, z), z))
flat.eq(536, c * q_D(x, z) / S(c * q_D(x, z), z))
flat.eq(537, q_D(x, z) / S(q_D(x, z), z))

map_estimate = Derivation("draft/map-estimate", "q_w(x) by logsumexp and its MAP estimate (lines 544-553)",
                          source=DOC)
one = sp.Integer(1)  # q_w(z) = 1, line 544
map_estimate.start(548, S(q_D(x, z) * one, z))
map_estimate.eq(550, sp.exp(sp.log(S(q_D(x, z) * one, z))))
map_estimate.eq(551, sp.exp(sp.log(S(sp.exp(sp.log(q_D(x, z))), z))))
# line 552 "≈": the MAP point is a lower bound of the sum (see the docstring)
map_estimate.ge(552, sp.exp(max_over(sp.log(q_D(x, z)), z)))
