"""特例三: 变分推断 -- variational inference (CATSMILE-1019, lines 113-159).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt):
- x is the observed value, a free index: every line is a statement for one x, and every value
  of x is checked. z is the latent variable; Σ_z runs over its support.
- The model (line 115): p(x|z,m) is the table `p_x` over x given z, p(z|m) the prior table `p_z`
  over z; both are model tables "in m". The joint p(x,z|m) = p(z,x|m) is p(x|z,m) p(z|m) (the
  product rule the document uses at 134 -> 135), the evidence p(x|m) = Σ_z p(x,z|m), and the
  posterior p(z|x,m) is Bayes' rule, line 124. In the denominator of 124 the summed z is a bound
  copy (Σ_{z'}), not the z of the numerator.
- q_w(z|x) is the variational family, the table `q_w` over z given x (a model table, in w).
  `q(z|x)` at lines 131 and 148 (no subscript) is the same q_w(z|x).
- Line 136 opens a bracket `[` closed at the end of 137: Σ_z q_w(z|x)[...] covers all three terms.
- The argmax lines 148-154 are const steps: "argmax_w A = argmax_w B" is read as "A - B does not
  depend on w", so `wrt=[q_w]` (line 142: "可以忽略不受w影响的项目", terms not affected by w may
  be dropped; -log p(x|m) depends on m but not on w).
- Line 154 (H instead of -KL) rests on the assumption stated in the prose just before it
  (lines 142-143: "如果假设均匀先验 p(z|m), 那么KL就简化为熵"): with a uniform prior
  p(z|m) = 1/N_z, -D_KL(q_w || p(z|m)) = H(q_w) - log N_z. The argmax chain is therefore
  encoded twice: with a general prior table for lines 148-152, and with the uniform prior of
  line 143 for lines 148-154. (With a general prior, -D_KL(q_w||p(z|m)) - H(q_w) is
  E_{q_w} log p(z|m), which depends on w: line 154 needs the assumption.)
- "KL 简化为熵" (143) is up to the constant log N_z: a const step in q_w.
- Line 127 (prose): maximising -D_KL(q_w || p(z|x,m)) gives a distribution close to the true
  posterior -- encoded as: -D_KL ≤ 0 (Gibbs), with 0 attained at q_w = p(z|x,m).
- Line 158 (q_w(z|x) abbreviated to q_w(z); ŵ = f(x)) is a remark on notation: no step.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import E, H, KL, S, Table, size_of, variables

DOC = "000_7c2102692a30e2b4.txt"

x, z = variables("x z")
q_w = Table("q_w", z, given=x)   # q_w(z|x): the variational family
p_x = Table("p_x", x, given=z)   # p(x|z,m): the generative model
p_z = Table("p_z", z)            # p(z|m): the prior


def model(prior):
    """The joint p(x,z|m), the evidence p(x|m) and the posterior p(z|x,m) (line 124)."""
    joint = p_x(x, z) * prior
    evidence = S(joint, z)
    return joint, evidence, joint / evidence


joint, evidence, posterior = model(p_z(z))
q = q_w(z, x)

# line 124: Bayes' rule gives the posterior, a distribution over z (for every x);
# line 127: maximising -D_KL(q_w || posterior) finds the posterior (Gibbs: -D_KL ≤ 0, = 0 there)
bayes = Derivation("vi/posterior", "The posterior p(z|x,m) and the aim of VI (lines 124, 127)",
                   source=DOC)
bayes.claim(124, S(posterior, z), "eq", 1)
bayes.claim(127, -KL(q, posterior, z), "le", 0, certificate=KL(q, posterior, z))
bayes.claim(127, -KL(posterior, posterior, z), "eq", 0)

# lines 131-138: -D_KL(q_w(z|x) || p(z|x,m)), line by line
elbo = Derivation("vi/negative-kl", "-D_KL(q_w(z|x) || p(z|x,m)) = -D_KL(q_w || p(z|m)) + E log p(x|z,m) "
                  "- log p(x|m)", source=DOC)
elbo.start(131, -KL(q, posterior, z))
elbo.eq(132, S(q * sp.log(posterior / q), z))
elbo.eq(134, S(q * sp.log(joint / (q * evidence)), z))  # p(z,x|m) / p(x|m) = p(z|x,m)
elbo.eq(135, S(q * sp.log(p_x(x, z) * p_z(z) / (q * evidence)), z))
elbo.eq(136, S(q * (sp.log(p_z(z) / q) + sp.log(p_x(x, z)) - sp.log(evidence)), z))
elbo.eq(137, -KL(q, p_z(z), z) + S(q * sp.log(p_x(x, z)), z) - S(q * sp.log(evidence), z))
elbo.eq(138, -KL(q, p_z(z), z) + E(q, sp.log(p_x(x, z)), z) - sp.log(evidence))

# lines 148-152: argmax over w; -log p(x|m) does not depend on w (line 142)
argmax = Derivation("vi/argmax", "argmax_w of -D_KL(q_w || p(z|x,m)), general prior p(z|m) "
                    "(lines 148-152)", source=DOC)
argmax.start(148, -KL(q, posterior, z))
argmax.const(150, -KL(q, p_z(z), z) + E(q, sp.log(p_x(x, z)), z) - sp.log(evidence), wrt=[q_w])
argmax.const(152, -KL(q, p_z(z), z) + E(q, sp.log(p_x(x, z)), z), wrt=[q_w])

# lines 142-143: with a uniform prior p(z|m) = 1/N_z the KL "reduces to an entropy"
uniform = 1 / size_of(z)
entropy = Derivation("vi/uniform-prior", "With a uniform prior, -D_KL(q_w || p(z|m)) is H(q_w) + c "
                     "(line 143)", source=DOC)
entropy.claim(143, -KL(q, uniform, z), "const", H(q, z), wrt=[q_w])

# lines 148-154 under the uniform prior of line 143 (line 154 uses it)
joint_u, evidence_u, posterior_u = model(uniform)
argmax_u = Derivation("vi/argmax-uniform-prior", "argmax_w of -D_KL(q_w || p(z|x,m)), uniform prior "
                      "p(z|m) = 1/N_z (lines 148-154)", source=DOC)
argmax_u.start(148, -KL(q, posterior_u, z))
argmax_u.const(150, -KL(q, uniform, z) + E(q, sp.log(p_x(x, z)), z) - sp.log(evidence_u), wrt=[q_w])
argmax_u.const(152, -KL(q, uniform, z) + E(q, sp.log(p_x(x, z)), z), wrt=[q_w])
argmax_u.const(154, H(q, z) + E(q, sp.log(p_x(x, z)), z), wrt=[q_w])
