"""The verdict of one step: an immutable record built once by a checker, read by every reporter."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping


class Status(str, enum.Enum):
    PROVED = "proved"
    NUMERIC = "numeric"
    REFUTED = "refuted"
    UNKNOWN = "unknown"
    ERROR = "error"

    def __str__(self) -> str:  # so f"{status}" reads "proved", not "Status.PROVED"
        return self.value


def _freeze(value: Any) -> Any:
    """Read-only all the way down: a verdict's evidence cannot be changed by any reader."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Plain dicts and lists again (for JSON and pickling)."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if mapping is None else _freeze(mapping)


@dataclass(frozen=True)
class Verdict:
    """What happened when one step was checked.

    `evidence` is data, not text: numbers, sympy expressions printed with `str`, series terms;
    reporters decide how to show it.
    """

    status: Status
    method: str
    detail: str = ""
    counterexample: Mapping[str, float] | None = None
    seconds: float = 0.0
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "counterexample", _frozen(self.counterexample))
        object.__setattr__(self, "evidence", _frozen(self.evidence))

    @property
    def decided(self) -> bool:
        """True when the step was proved or refuted (not merely sampled)."""
        return self.status in (Status.PROVED, Status.REFUTED)

    def with_seconds(self, seconds: float) -> "Verdict":
        return replace(self, seconds=seconds)

    def with_detail(self, detail: str) -> "Verdict":
        return replace(self, detail=detail)

    def with_evidence(self, **extra: Any) -> "Verdict":
        return replace(self, evidence={**_thaw(self.evidence), **extra})

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "method": self.method,
            "detail": self.detail,
            "counterexample": None if self.counterexample is None else dict(self.counterexample),
            "seconds": self.seconds,
            "evidence": _thaw(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Verdict":
        return cls(
            status=Status(data["status"]),
            method=data["method"],
            detail=data.get("detail", ""),
            counterexample=data.get("counterexample"),
            seconds=float(data.get("seconds", 0.0)),
            evidence=data.get("evidence") or {},
        )

    # MappingProxyType does not pickle; verdicts travel between processes (budgets, --jobs).
    def __reduce__(self):
        return (Verdict.from_dict, (self.to_dict(),))
