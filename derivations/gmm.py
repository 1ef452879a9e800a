"""特例四: GMM -- the mixture objective and its encoder bound (CATSMILE-1019, lines 160-188).

Readings of the document's notation (line numbers of 000_7c2102692a30e2b4.txt):
- Line 165, q(x|z) = N(μ_z, Σ_z), defines the components as Gaussians. The identities of this
  section do not use the Gaussian form, only that q(x|z) is a distribution over x for each z, so
  x is discrete here and q(x|z) is a table `q_r` over x given z (the same q_r(x|z) as line 177).
  q(z) (the mixture weights) is the table `q_z`; both are model tables. p_data(x) is data.
- Line 166 defines q(x) = Σ_z q(z) q(x|z); it is substituted wherever q(x) appears. The claim at
  166 checks that this q(x) is a distribution, so line 167 is a KL between distributions.
- Line 167 is read literally: L(m) = D_KL(p_data(x) || q(x)). Then "= c + E_{p_data}[log q(x)]"
  (168) has the wrong sign: D_KL = -H(p_data) - E_{p_data}[log q(x)], c = -H(p_data) (data).
  Line 169 carries the same c as 168 (a substitution of 166), so 168 -> 169 is an eq step of the
  parts after "c +".
- Line 177 is read literally: L(m) = D_KL(p_data(x) q_e(z|x) || q(z) q_r(x|z)), a KL over (x, z)
  of two joints; line 178 writes Σ_x Σ_z p q_e log(q q_r / (p q_e)), which is -D_KL (sign).
  The chain goes on from 178 as written (the document's objective from 178 on is -D_KL, which is
  maximised).
- "c" at 179 absorbs the data term: from 178, c = -Σ_x p_data log p_data = H(p_data). The c of
  180 is the same c as 179 (Jensen acts on the rest), so 179 -> 180 is a ≤ between the parts
  after "c +". Line 181 drops the c: read as "equal up to the data constant c" (a const step),
  the way 169 states the direct objective up to c. Literally (c + X = X) it holds only if
  H(p_data) = 0.
- In 180, `Σ_z q_e(z|x) log Σ_z q(z) q_r(x|z)`: the inner Σ_z is a bound copy (Σ_{z'}); the
  outer Σ_z q_e(z|x) = 1 then gives 181.
- Lines 173-174 (prose): "by Gibbs' inequality this function is maximised when q_e(z|x) is the
  true posterior". The function is L(m) as the derivation computes it from 178 on,
  F(q_e) = Σ_x Σ_z p q_e log(q q_r / (p q_e)); the true posterior of the model is
  q(z|x) = q(z) q_r(x|z) / Σ_z q(z) q_r(x|z). Encoded as F(q_e) ≤ F(posterior) with the Gibbs
  certificate E_{p_data}[D_KL(q_e(z|x) || q(z|x))], and as: at q_e = posterior the ≤ of 180 is an
  equality (179's sum equals 181's). With 177 read literally (+D_KL) the posterior would
  minimise L -- the same sign slip as 178, not counted twice.
- Lines 185-186 are commentary (a decoder is not needed when the generative distribution can be
  computed); their content is the equality at the posterior above.
"""
import sympy as sp

from deriv import Derivation
from deriv.prob import E, KL, S, Table, variables

DOC = "000_7c2102692a30e2b4.txt"

x, z = variables("x z")
p_data = Table("p_data", x, data=True)  # the data distribution p_data(x)
q_z = Table("q_z", z)                   # mixture weights q(z)
q_r = Table("q_r", x, given=z)          # components q(x|z) = q_r(x|z) (Gaussian at line 165)
q_e = Table("q_e", z, given=x)          # encoder q_e(z|x) (line 173)

q_x = S(q_z(z) * q_r(x, z), z)          # line 166: q(x) = Σ_z q(z) q(x|z)
posterior = q_z(z) * q_r(x, z) / q_x    # the true posterior q(z|x) of the mixture


def F(encoder):
    """Line 178's objective Σ_x Σ_z p_data(x) q_e(z|x) log(q(z) q_r(x|z) / (p_data(x) q_e(z|x)))."""
    return S(p_data(x) * encoder * sp.log(q_z(z) * q_r(x, z) / (p_data(x) * encoder)), x, z)


def elbo(encoder):
    """The part of line 179 after "c +": Σ_x p_data(x) Σ_z q_e(z|x) log(q(z) q_r(x|z) / q_e(z|x))."""
    return S(p_data(x) * S(encoder * sp.log(q_z(z) * q_r(x, z) / encoder), z), x)


# line 166: the mixture q(x) is a distribution over x
mixture = Derivation("gmm/mixture", "The mixture q(x) = Σ_z q(z) q(x|z) is normalised (line 166)",
                     source=DOC)
mixture.claim(166, S(q_x, x), "eq", 1)

# lines 167-169: the direct objective
direct = Derivation("gmm/direct", "L(m) = D_KL(p_data || q) = c + E_p_data[log q(x)] (lines 167-169)",
                    source=DOC)
direct.start(167, KL(p_data(x), q_x, x))
direct.const(168, E(p_data(x), sp.log(q_x), x), expect="refuted",
             note="sign: D_KL(p_data || q) = -H(p_data) - E_p_data[log q(x)], so L(m) = c - E_p_data[log q(x)] "
                  "(minimising the KL maximises the likelihood); + E[log q] would need L(m) = -D_KL",
             corrected=-E(p_data(x), sp.log(q_x), x))
direct.eq(169, E(p_data(x), sp.log(S(q_z(z) * q_r(x, z), z)), x))  # the c of 168; q(x) of 166

# lines 177-181: with an encoder q_e(z|x)
encoder = Derivation("gmm/encoder", "L(m) with an encoder q_e(z|x), and its Jensen bound (lines 177-181)",
                     source=DOC)
encoder.start(177, KL(p_data(x) * q_e(z, x), q_z(z) * q_r(x, z), x, z))
encoder.eq(178, F(q_e(z, x)), expect="refuted",
           note="sign: Σ p q_e log(q q_r / (p q_e)) is -D_KL(p_data q_e || q q_r); D_KL has the ratio "
                "the other way up",
           corrected=S(p_data(x) * q_e(z, x) * sp.log(p_data(x) * q_e(z, x) / (q_z(z) * q_r(x, z))), x, z))
encoder.const(179, elbo(q_e(z, x)))  # c = H(p_data), from 178 as written
# line 180: same c; Jensen for log under q_e(z|x) for each x, i.e. the gap is
# E_p_data[D_KL(q_e(z|x) || q(z|x))], one Gibbs divergence between joints over (x, z)
encoder.le(180, S(p_data(x) * S(q_e(z, x) * sp.log(S(q_z(z) * q_r(x, z), z)), z), x),
           certificate=KL(p_data(x) * q_e(z, x), p_data(x) * posterior, x, z))
encoder.const(181, S(p_data(x) * sp.log(S(q_z(z) * q_r(x, z), z)), x))  # c dropped: up to c

# lines 173-174 (prose): by Gibbs the function is maximised at q_e(z|x) = the true posterior
gibbs = Derivation("gmm/encoder-optimum", "The encoder objective is maximised at the true posterior "
                   "(lines 173-174)", source=DOC)
gibbs.claim(174, F(q_e(z, x)), "le", F(posterior),
            certificate=KL(p_data(x) * q_e(z, x), p_data(x) * posterior, x, z))
gibbs.claim(174, elbo(posterior), "eq", S(p_data(x) * sp.log(S(q_z(z) * q_r(x, z), z)), x))
