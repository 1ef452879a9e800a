"""deriv: check every step of a mathematical derivation -- prove, sample, or refute it.

The public names are imported on first use (PEP 562), so `import deriv.<module>` -- as pytest
does for the plugin -- costs nothing until the engine is needed.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {"check": "checks", "check_limit": "checks", "check_experiment": "checks",
            "ExperimentResult": "checks", "diagnose": "diagnosis", "Derivation": "model", "Step": "model",
            "Status": "verdict", "Verdict": "verdict"}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deriv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
