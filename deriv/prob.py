"""Finite discrete probability, written like the document, checked at concrete support sizes.

    x, y, z = variables("x y z")
    p_data = Table("p_data", x, data=True)        # p_data(x): data, not a model parameter
    q_e = Table("q_e", z, given=x)                 # q_e(z|x): the encoder, a model table
    KL(p_data(x) * q_e(z, x), w(z) * q_r(x, z), x, z)

A table applied to indices is a positive sympy function application, so `log` of products of
tables expands symbolically at any size. `S(f, z)` is the document's Σ_z, a sympy `Sum` over the
support 0..N_z-1 of z; `KL`, `H`, `CE`, `E` are unevaluated until a step is checked.

At a concrete size (N_x = 2, N_z = 3, ...) sums are expanded, free indices take concrete values,
and every table entry becomes a softmax of free real logits:
    q_e(z=i | x=j) = exp(a[i, j]) / Σ_k exp(a[k, j]).
Softmax (rather than "last entry = 1 - rest") because positivity and normalisation then hold
for *every* value of the logits -- the numeric screen samples any real point and always gets
a valid distribution -- and because log q = a - log Σ exp(a) expands under sympy's assumptions
without `force=True`, so symbolic proofs stay sound.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import sympy as sp

from .lowering import expand_sum

LOGIT_RANGE = (-3.0, 3.0)
# An inequality must also hold for nearly degenerate distributions: entries up to 1 - 1e-7 are
# reachable with logits in (-9, 9), and a false inequality that fails only there (e.g. q ≥ 1/1000
# with q → 0) is caught. Identities keep the narrower box, where sampling is better conditioned.
INEQUALITY_LOGIT_RANGE = (-9.0, 9.0)


# -- variables and tables -------------------------------------------------------------------

class Var:
    """A discrete variable with a finite support {0, ..., N-1}; N is chosen per check."""

    def __init__(self, name: str):
        self.name = name
        self.symbol = sp.Symbol(name, integer=True, nonnegative=True)
        self.size = sp.Symbol(f"N_{name}", integer=True, positive=True)

    def __repr__(self) -> str:
        return f"Var({self.name!r})"


_VARS: dict[sp.Symbol, Var] = {}


def variables(names: str) -> tuple[sp.Symbol, ...]:
    """Index symbols for discrete variables: `x, z = variables("x z")`."""
    made = []
    for name in names.split():
        var = Var(name)
        _VARS[var.symbol] = var
        made.append(var.symbol)
    return tuple(made)


def _symbol_of(name: str) -> sp.Symbol:
    return next(s for s in _VARS if s.name == name)


def size_of(symbol: sp.Symbol) -> sp.Symbol:
    return _VARS[symbol].size


class Table:
    """A (conditional) probability table: `Table("q_e", z, given=x)` is q_e(z|x).

    Calling it with index expressions gives the entry, e.g. q_r(x, z) for q_r(x|z), or
    q_r(y, z) where the document writes q_r(y|z). `data=True` marks a table that is data
    (p_data): its logits are not model parameters, so "= c + ..." steps may drop it.
    """

    def __init__(self, name: str, over: sp.Symbol, given: sp.Symbol | Sequence[sp.Symbol] = (),
                 data: bool = False, depends_on: sp.Symbol | None = None):
        self.name = name
        self.depends_on = depends_on  # a scalar parameter m: logits a + m*u, so ∂/∂m is defined
        self.over = over
        self.given = tuple(given) if isinstance(given, (tuple, list)) else ((given,) if given is not None and given != () else ())
        self.data = data
        # sympy caches undefined functions by name and keyword arguments: the signature and role
        # make tables that share a name (p_data(x) here, p_data(y|x) there) distinct functions
        role = "data" if data else "model"
        self.function = sp.Function(name, positive=True,
                                    deriv_table=f"{self.signature()}:{role}:{depends_on}")
        self.function._deriv_table = self  # found again from any application in an expression

    def __call__(self, *indices) -> sp.Expr:
        expected = 1 + len(self.given)
        if len(indices) != expected:
            raise TypeError(f"{self.name} takes {expected} indices ({self.signature()}), got {len(indices)}")
        if self.depends_on is not None:
            return self.function(*indices, self.depends_on)
        return self.function(*indices)

    def signature(self) -> str:
        given = ",".join(str(g) for g in self.given)
        return f"{self.name}({self.over}|{given})" if given else f"{self.name}({self.over})"

    def __repr__(self) -> str:
        return f"Table({self.signature()})"

    def sizes_needed(self) -> tuple[sp.Symbol, ...]:
        return (self.over, *self.given)


def table_of(expr: sp.Expr) -> Table | None:
    return getattr(expr.func, "_deriv_table", None) if isinstance(expr, sp.core.function.AppliedUndef) else None


# -- the document's operators ----------------------------------------------------------------

def S(body, *vars: sp.Symbol) -> sp.Expr:
    """Σ over the support of each variable (the document's Σ_z, Σ_{x,z})."""
    limits = [(v, 0, size_of(v) - 1) for v in vars]
    return sp.Sum(body, *limits)


class KL(sp.Function):
    """D_KL(P || Q) over the variables given: KL(P, Q, x, z) = Σ_{x,z} P log(P/Q)."""

    nargs = None

    def expanded(self) -> sp.Expr:
        P, Q, *vars = self.args
        return S(P * (sp.log(P) - sp.log(Q)), *vars)


class H(sp.Function):
    """Entropy H(P) = -Σ P log P over the variables given."""

    nargs = None

    def expanded(self) -> sp.Expr:
        P, *vars = self.args
        return S(-P * sp.log(P), *vars)


class CE(sp.Function):
    """Cross-entropy CE(P, Q) = -Σ P log Q over the variables given."""

    nargs = None

    def expanded(self) -> sp.Expr:
        P, Q, *vars = self.args
        return S(-P * sp.log(Q), *vars)


class E(sp.Function):
    """Expectation E_P[f] = Σ P f over the variables given."""

    nargs = None

    def expanded(self) -> sp.Expr:
        P, f, *vars = self.args
        return S(P * f, *vars)


OPERATORS = (KL, H, CE, E)


def delta(y: sp.Symbol, x: sp.Symbol) -> sp.Expr:
    """The Kronecker δ(y|x): the conditional table of y = x."""
    return sp.KroneckerDelta(y, x)


def expand_operators(expr: sp.Expr) -> sp.Expr:
    """KL/H/CE/E written out as sums (innermost first)."""
    return expr.replace(lambda e: isinstance(e, OPERATORS), lambda e: e.expanded())


# -- instantiation at concrete sizes ----------------------------------------------------------

def is_probabilistic(*exprs) -> bool:
    for e in exprs:
        if e is None or not isinstance(e, sp.Basic):
            continue
        if e.has(*OPERATORS) or any(table_of(f) for f in e.atoms(sp.core.function.AppliedUndef)) \
                or any(s in _VARS for s in e.free_symbols) or any(
                    v.size in e.free_symbols for v in _VARS.values()):
            return True
    return False


def tables_in(*exprs) -> list[Table]:
    found = {}
    for e in exprs:
        for f in expand_operators(sp.sympify(e)).atoms(sp.core.function.AppliedUndef):
            table = table_of(f)
            if table:
                found[table.name] = table
    return [found[k] for k in sorted(found)]


def index_vars(*exprs) -> list[sp.Symbol]:
    """Every discrete variable a step mentions (bound by sums, free, or in a table's shape)."""
    found = set()
    for e in exprs:
        e = expand_operators(sp.sympify(e))
        found |= {s for s in e.free_symbols if s in _VARS}
        for s in e.atoms(sp.Sum):
            found |= {lim[0] for lim in s.limits if lim[0] in _VARS}
        for t in tables_in(e):
            found |= set(t.sizes_needed())
    return sorted(found, key=lambda s: s.name)


@dataclass(frozen=True)
class Instance:
    """A step made concrete: sizes, free-index values, plain sympy sides, and the logits."""

    sizes: tuple[tuple[str, int], ...]
    free: tuple[tuple[str, int], ...]
    lhs: sp.Expr
    rhs: sp.Expr
    model_logits: tuple[sp.Symbol, ...]
    data_logits: tuple[sp.Symbol, ...]
    tables: dict
    extra_domain: dict

    def label(self) -> str:
        size = ",".join(f"{name}:{n}" for name, n in self.sizes)
        free = ",".join(f"{k}={v}" for k, v in self.free)
        return f"[{size}]" + (f" at {free}" if free else "")

    def domain(self, relation: str = "eq") -> dict:
        box = INEQUALITY_LOGIT_RANGE if relation in ("le", "ge", "lt", "gt") else LOGIT_RANGE
        return {a: box for a in self.model_logits + self.data_logits} | self.extra_domain


def logit_name(kind: str, table: str, index) -> str:
    """`a_q_e__1_0` is the logit of q_e(z=1|x=0): a valid Python identifier, so lambdify
    takes the symbol as it is (renaming symbols costs seconds on large expressions)."""
    return f"{kind}_{table}__{'_'.join(map(str, index))}"


def table_of_logit(symbol: sp.Symbol) -> str:
    return symbol.name[2:].rsplit("__", 1)[0]


def _softmax_tables(tables: Iterable[Table], sizes: dict[sp.Symbol, int]):
    """Entry values for every table at these sizes, and its logit symbols."""
    values, model, data = {}, [], []
    for table in tables:
        shape = [range(sizes[v]) for v in table.sizes_needed()]
        logits = {}
        directions = []
        for index in itertools.product(*shape):
            name = logit_name("a", table.name, index)
            logits[index] = sp.Symbol(name, real=True)
            if table.depends_on is not None:  # logit = a + m*u: a direction u per entry
                u = sp.Symbol(logit_name("u", table.name, index), real=True)
                directions.append(u)
        (data if table.data else model).extend(logits.values())
        data.extend(directions)
        if table.depends_on is not None:
            m = table.depends_on
            logits = {k: a + m * sp.Symbol(logit_name("u", table.name, k), real=True)
                      for k, a in logits.items()}
        for index in logits:
            over_value, *given_values = index
            column = [logits[(k, *given_values)] for k in range(sizes[table.over])]
            values[(table.name, index)] = sp.exp(logits[index]) / sp.Add(*[sp.exp(a) for a in column])
    return values, tuple(model), tuple(data)


def _expand_sums(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, sp.Sum), expand_sum)


def instantiate(lhs, rhs, sizes: dict[sp.Symbol, int], free: dict[sp.Symbol, int]) -> Instance:
    """Both sides as plain sympy over softmax logits at these sizes and free-index values."""
    lhs, rhs = (expand_operators(sp.sympify(e)) for e in (lhs, rhs))
    tables = tables_in(lhs, rhs)
    size_values = {_VARS[v].size: n for v, n in sizes.items()}
    values, model, data = _softmax_tables(tables, sizes)

    def concrete(e: sp.Expr) -> sp.Expr:
        e = _expand_sums(e.xreplace(size_values))
        e = e.xreplace({v: sp.Integer(i) for v, i in free.items()})

        def entry(app):
            table = table_of(app)
            args = app.args[:-1] if table.depends_on is not None else app.args
            index = tuple(int(i) for i in args)
            for value, var in zip(index, table.sizes_needed()):
                if not 0 <= value < sizes[var]:
                    raise ValueError(f"{table.signature()} indexed out of its support: {app}")
            return values[(table.name, index)]

        def concrete_entry(n) -> bool:
            table = table_of(n)
            if table is None:
                return False
            args = n.args[:-1] if table.depends_on is not None else n.args
            return all(a.is_Integer for a in args)

        e = e.replace(concrete_entry, entry)
        left = [table_of(f).signature() for f in e.atoms(sp.core.function.AppliedUndef) if table_of(f)]
        if left:
            raise ValueError(f"table entries with non-concrete indices remain: {', '.join(left)}")
        return e

    return Instance(tuple((v.name, sizes[v]) for v in sorted(sizes, key=lambda s: s.name)),
                    tuple((v.name, free[v]) for v in sorted(free, key=lambda s: s.name)),
                    concrete(lhs), concrete(rhs), model, data,
                    {t.name: t for t in tables},
                    {t.depends_on: (-1.0, 1.0) for t in tables if t.depends_on is not None})


def free_indices(*exprs) -> list[sp.Symbol]:
    found = set()
    for e in exprs:
        found |= {s for s in expand_operators(sp.sympify(e)).free_symbols if s in _VARS}
    return sorted(found, key=lambda s: s.name)


PROOF_SIZES = (2, 3)      # every variable 2, then the first 3 and the rest 2
SAMPLE_SIZES = ((3, 4), (5, 3))


def size_plan(vars: Sequence[sp.Symbol]) -> tuple[list[dict], list[dict]]:
    """Small sizes to prove at and larger ones to sample at, for these variables."""
    vars = list(vars)
    if not vars:
        return [{}], []
    prove = [{v: 2 for v in vars}]
    prove.append({v: (3 if i == 0 else 2) for i, v in enumerate(vars)})
    sample = []
    for a, b in SAMPLE_SIZES:
        sample.append({v: (a if i % 2 == 0 else b) for i, v in enumerate(vars)})
    return prove, sample


def free_assignments(free: Sequence[sp.Symbol], sizes: dict[sp.Symbol, int], limit: int) -> list[dict]:
    """Values for the free indices: all combinations when few, else a spread of them."""
    combos = list(itertools.product(*[range(sizes[v]) for v in free]))
    if len(combos) > limit:
        step = len(combos) / limit
        combos = [combos[int(i * step)] for i in range(limit)]
    return [dict(zip(free, c)) for c in combos]


def describe_tables(instance: Instance, point: dict[str, float]) -> dict[str, list]:
    """The probability tables at a counterexample point, for the report."""
    out = {}
    for name, table in instance.tables.items():
        sizes = dict(instance.sizes)
        shape = [range(sizes[v.name]) for v in table.sizes_needed()]
        rows = []
        for given in itertools.product(*shape[1:]):
            logits = [point.get(logit_name("a", name, (k, *given))) for k in shape[0]]
            if any(v is None for v in logits):
                continue
            top = max(logits)
            weights = [math.exp(v - top) for v in logits]
            total = sum(weights)
            rows.append([round(w / total, 6) for w in weights])
        out[table.signature()] = rows
    return out
