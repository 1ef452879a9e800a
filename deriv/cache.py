"""Verdict cache: a step that did not change is not checked again.

One small JSON file per step under the cache directory ($DERIV_CACHE_DIR, else
$XDG_CACHE_HOME/deriv, else ~/.cache/deriv). The key hashes everything a verdict depends on:
both sides (`srepr`, which keeps assumptions), relation, domain, options, and the versions of
deriv (and a hash of its source), sympy, mpmath and numpy. Only decided or sampled verdicts are stored -- never a timeout,
which depends on the machine's load. The directory is safe to delete; an unreadable entry is
ignored and overwritten.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import mpmath
import numpy
import sympy as sp

from .verdict import Status, Verdict

CACHEABLE = (Status.PROVED, Status.NUMERIC, Status.REFUTED)


def cache_dir() -> Path:
    if os.environ.get("DERIV_CACHE_DIR"):
        return Path(os.environ["DERIV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deriv"


# modules that only present verdicts: editing them cannot change one
PRESENTATION = frozenset({"cli.py", "report.py", "explain.py", "annotate.py", "plot.py", "pytest_plugin.py", "mutate.py", "parse.py",
                          "__main__.py"})


@functools.lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """A hash of deriv's own source, so an edited checker never reuses verdicts of the old one."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.name in PRESENTATION:
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def step_key(*parts) -> str:
    from . import __version__

    def text(part):
        if isinstance(part, sp.Basic):
            return sp.srepr(part)
        if isinstance(part, dict):
            return repr(sorted((str(k), text(v)) for k, v in part.items()))
        if isinstance(part, (tuple, list)):
            return "(" + ",".join(text(p) for p in part) + ")"
        return repr(part)

    versions = (__version__, engine_fingerprint(), sp.__version__, mpmath.__version__, numpy.__version__)
    payload = "\x1f".join(text(p) for p in (*versions, *parts))
    return hashlib.sha256(payload.encode()).hexdigest()


class VerdictCache:
    def __init__(self, directory: Path | None = None, enabled: bool = True):
        self.directory = Path(directory) if directory else cache_dir()
        self.enabled = enabled

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Verdict | None:
        if not self.enabled:
            return None
        try:
            return Verdict.from_dict(json.loads(self._path(key).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or corrupted: check again

    def put(self, key: str, verdict: Verdict) -> None:
        if not self.enabled or verdict.status not in CACHEABLE:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(verdict.to_dict(), handle, default=str)
            os.replace(tmp, path)  # atomic: parallel workers never see half a file
        except OSError:
            pass  # a read-only or full disk costs speed, never a verdict
