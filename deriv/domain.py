"""Where a step is sampled: an interval per free symbol, from the user or from its assumptions."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import sympy as sp

DEFAULT_WIDTH = 5.0


def default_interval(symbol: sp.Symbol) -> tuple[float, float]:
    """A sampling interval that respects the symbol's sympy assumptions."""
    if symbol.is_positive:
        return (0.0, DEFAULT_WIDTH)
    if symbol.is_nonnegative:
        return (0.0, DEFAULT_WIDTH)
    if symbol.is_negative or symbol.is_nonpositive:
        return (-DEFAULT_WIDTH, 0.0)
    return (-DEFAULT_WIDTH, DEFAULT_WIDTH)


@dataclass(frozen=True)
class Domain:
    """Sampling intervals (open) for the free symbols of a step."""

    intervals: tuple[tuple[sp.Symbol, float, float], ...]

    @classmethod
    def build(cls, symbols: Iterable[sp.Symbol], given: Mapping | None = None) -> "Domain":
        given = {(_as_symbol(k)): v for k, v in (given or {}).items()}
        by_name = {s.name: v for s, v in given.items()}
        rows = []
        for symbol in sorted(set(symbols), key=lambda s: s.name):
            low, high = given.get(symbol, by_name.get(symbol.name, default_interval(symbol)))
            low, high = float(low), float(high)
            if not low < high:
                raise ValueError(f"empty sampling interval for {symbol}: ({low}, {high})")
            if (symbol.is_nonnegative and low < 0) or (symbol.is_nonpositive and high > 0):
                sign = "nonnegative" if symbol.is_nonnegative else "nonpositive"
                raise ValueError(f"the sampling interval ({low:g}, {high:g}) of {symbol} contradicts its "
                                 f"assumption ({sign}); change the interval or the symbol's assumptions")
            rows.append((symbol, low, high))
        return cls(tuple(rows))

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(row[0] for row in self.intervals)

    def describe(self) -> str:
        return ", ".join(f"{s} ∈ ({lo:g}, {hi:g})" for s, lo, hi in self.intervals) or "no free symbols"

    def sample(self, count: int, seed: int) -> dict[sp.Symbol, np.ndarray]:
        """`count` points: mostly uniform, some log-spaced towards each finite end (cancellation traps)."""
        rng = np.random.default_rng(seed)
        points = {}
        for symbol, low, high in self.intervals:
            width = high - low
            u = rng.uniform(0.0, 1.0, count)
            values = low + width * u
            if symbol.is_integer:
                values = np.clip(np.round(values), np.ceil(low), np.floor(high))
            else:
                # an eighth of the points hug each end at distances 1e-1 .. 1e-9 of the width
                near = rng.uniform(size=count) < 0.25
                offsets = width * 10.0 ** rng.uniform(-9.0, -1.0, count)
                at_low = rng.uniform(size=count) < 0.5
                hugging = np.where(at_low, low + offsets, high - offsets)
                values = np.where(near, hugging, values)
                values = np.clip(values, np.nextafter(low, high), np.nextafter(high, low))
            points[symbol] = values
        return points


def _as_symbol(key) -> sp.Symbol:
    if isinstance(key, sp.Symbol):
        return key
    return sp.Symbol(str(key))


def stable_seed(*parts: object) -> int:
    """A seed that depends only on the step, so every run samples the same points."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")
