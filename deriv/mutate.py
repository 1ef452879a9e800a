"""`deriv mutate` (being written)."""
from __future__ import annotations

HELP = "not yet available"


def add_arguments(parser) -> None:
    pass


def main(args) -> int:
    print("deriv mutate: not yet available")
    return 2
