"""Discrete probability: instantiation at sizes, the size-aware verdicts, certificates."""
import sympy as sp

from deriv import Status
from deriv.prob import CE, H, KL, S, Table, delta, instantiate, variables
from deriv.probcheck import Jensen, check_prob_step, lemma_for

x, y, z = variables("x y z")
p = Table("p", x, data=True)
q = Table("q", x)
enc = Table("enc", z, given=x)
w = Table("w", z)


def test_instantiated_tables_are_normalised_softmax():
    inst = instantiate(S(enc(z, x), z), 1, {x: 2, z: 3}, {x: 1})
    assert sp.simplify(inst.lhs - 1) == 0
    assert len(inst.model_logits) == 6 and not inst.data_logits  # 3 entries for each of 2 inputs
    inst = instantiate(p(x), 0, {x: 2}, {x: 0})
    assert inst.data_logits and not inst.model_logits


def test_true_identity_reports_proved_and_sampled_sizes():
    v = check_prob_step(CE(p(x), q(x), x), KL(p(x), q(x), x) + H(p(x), x), "eq")
    assert v.status == "proved"
    assert v.evidence["proved_sizes"] and v.evidence["sampled_sizes"]
    assert "proved at sizes" in v.detail and "numeric at sizes" in v.detail


def test_sign_error_is_refuted_with_tables():
    v = check_prob_step(CE(p(x), q(x), x), -KL(p(x), q(x), x) + H(p(x), x), "eq")
    assert v.status == "refuted"
    assert v.counterexample and "sizes" in v.evidence and v.evidence["tables"]


def test_const_is_checked_against_model_tables_only():
    # H(p) involves only the data table p: constant in the model
    assert check_prob_step(CE(p(x), q(x), x), KL(p(x), q(x), x), "const").status == "proved"
    assert check_prob_step(CE(p(x), q(x), x), -KL(p(x), q(x), x), "const").status == "refuted"


def test_gibbs_certificate_proves_an_inequality():
    lhs = -KL(p(x), q(x), x)
    v = check_prob_step(lhs, sp.Integer(0), "le", certificate=KL(p(x), q(x), x))
    assert v.status == "proved" and "Gibbs" in " ".join(v.evidence["lemmas"])


def test_wrong_certificate_does_not_prove():
    lhs = -KL(p(x), q(x), x)
    v = check_prob_step(lhs, sp.Integer(0), "le", certificate=2 * KL(p(x), q(x), x))
    assert v.status != "proved"


def test_jensen_certificate_and_lemma_recognition():
    f = Table("f", z, given=x)  # any positive function of z (here a table)
    lhs = S(enc(z, x) * sp.log(f(z, x)), z)
    rhs = sp.log(S(enc(z, x) * f(z, x), z))
    v = check_prob_step(lhs, rhs, "le", certificate=Jensen(enc(z, x), f(z, x), z))
    assert v.status == "proved"
    assert lemma_for(sp.Symbol("t")).problem  # an arbitrary symbol is not known nonnegative


def test_false_inequality_without_certificate_is_refuted():
    assert check_prob_step(KL(p(x), q(x), x), sp.Integer(0), "le").status == "refuted"


def test_kronecker_delta_picks_the_diagonal():
    cond = Table("cond", y, given=x)
    v = check_prob_step(S(delta(y, x) * sp.log(cond(y, x)), y), sp.log(cond(x, x)), "eq")
    assert v.status == "proved"


def test_strict_inequality_refuted_by_a_proved_identity():
    v = check_prob_step(CE(p(x), q(x), x) - H(p(x), x), KL(p(x), q(x), x), "lt")
    assert v.status == Status.REFUTED


def test_inequality_failing_only_near_a_degenerate_distribution_is_refuted():
    # 1 ≥ q(x) + 1/1000 fails only where some entry of q exceeds 0.999: logits in the identity box
    # (-3, 3) never get there (max entry 0.9975 for two entries), the inequality box does
    verdict = check_prob_step(1, q(x) + sp.Rational(1, 1000), "ge")
    assert verdict.status is Status.REFUTED
    assert verdict.counterexample
