"""The `deriv` command line: `deriv verify [PATH ...]`."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__
from .cache import cache_dir
from .fastpath import BACKENDS, CROSSOVER_CACHED, CROSSOVER_COLD
from .numeric import FLOAT_POINTS, Sampling

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

VERIFY_HELP = """\
Check every step of every derivation and print a report.

Each step is proved symbolically where possible (proved), otherwise sampled at many points in
float64 with every doubtful point and a sample of agreeing points re-computed at 50 and 80
digits (numeric), or refuted with a counterexample confirmed at high precision (refuted).
unknown means no decision within the time budget; error means the step could not be built or
evaluated. A run passes when every step is proved or numeric, except steps the derivation
marks as expected refutations (real mistakes of the document), which must be refuted.

Exit status: 0 the run passes, 1 it does not, 2 usage error or a module that could not be loaded.
"""


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that checks derivations (verify, annotate)."""
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="check derivations in N processes (default: all cores)")
    parser.add_argument("-k", metavar="TEXT", dest="keyword",
                        help="only derivations whose id or title contains TEXT (case-insensitive)")
    parser.add_argument("--no-cache", action="store_true",
                        help=f"re-check every step; do not read or write the verdict cache ({cache_dir()})")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time budget per step (default 120 s; symbolic strategies get 5-20 s each)")
    parser.add_argument("--points", type=int, default=FLOAT_POINTS, metavar="N",
                        help=f"float64 points per step in the numeric screen (default {FLOAT_POINTS}); "
                             "more points look harder for a counterexample")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="float64 backend: numpy, numba (compiled, parallel; needs the 'fast' extra), "
                             "or auto: numba only where the point count pays for compiling "
                             f"(>= {CROSSOVER_COLD:,} points, or {CROSSOVER_CACHED:,} with a kernel "
                             "already cached on disk)")


def build_parser() -> argparse.ArgumentParser:
    from . import annotate, mutate, plot

    parser = argparse.ArgumentParser(prog="deriv", description="deriv: a derivation verifier.")
    parser.add_argument("--version", action="version", version=f"deriv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    verify = commands.add_parser("verify", help="check derivations and report every step",
                                 description=VERIFY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("paths", nargs="*", metavar="PATH",
                        help="derivation modules (.py) or folders of them; default: the bundled "
                             "derivations of CATSMILE-1019. Loading a module runs its code.")
    verify.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    add_run_options(verify)
    verify.add_argument("--verbose", "-v", action="store_true", help="show each step's expressions and full details")
    verify.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    annotate.add_arguments(commands.add_parser(
        "annotate", help="write a copy of the source document with every checked line marked",
        description=annotate.HELP, formatter_class=argparse.RawDescriptionHelpFormatter))
    plot.add_arguments(commands.add_parser(
        "plot", help="plot both sides of a step (and their difference) to a PNG file",
        description=plot.HELP, formatter_class=argparse.RawDescriptionHelpFormatter))
    mutate.add_arguments(commands.add_parser(
        "mutate", help="mutation testing: every accepted step's mutants must be refuted",
        description=mutate.HELP, formatter_class=argparse.RawDescriptionHelpFormatter))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "verify":
        return verify(args)
    if args.command == "annotate":
        from . import annotate
        return annotate.main(args)
    if args.command == "plot":
        from . import plot
        return plot.main(args)
    if args.command == "mutate":
        from . import mutate
        return mutate.main(args)
    parser.print_help()
    return EXIT_USAGE


def run_checks(args, paths: list, errors: Console):
    """Check the derivations under `paths` with the run options of `args`, showing live progress
    on stderr when it is a terminal. Returns the RunResult, or None after a usage error (printed)."""
    from . import runner

    if args.jobs is not None and args.jobs < 1:
        errors.print("deriv: --jobs must be at least 1")
        return None
    if args.points < 1:
        errors.print("deriv: --points must be at least 1")
        return None
    jobs = args.jobs or runner.default_jobs()
    try:
        paths = paths or [runner.bundled_path()]
        runner.module_files(paths)
    except FileNotFoundError as exc:
        errors.print(f"deriv: {exc}")
        return None

    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[tally]}"), TimeElapsedColumn(),
                        console=errors, transient=True, disable=not errors.is_terminal)
    task = progress.add_task("loading", total=None, tally="")
    tally: dict = {}

    def on_collected(found):
        progress.update(task, total=sum(len(d.steps) for _, d in found), description="checking")

    def on_step(derivation_id, step):
        from .explain import SYMBOLS

        status = step.verdict.status
        tally[status] = tally.get(status, 0) + 1
        shown = " ".join(f"{SYMBOLS[s]}{n}" for s, n in sorted(tally.items(), key=lambda kv: list(SYMBOLS).index(kv[0])))
        progress.update(task, advance=1, description=f"{derivation_id} line {step.line}", tally=shown)

    with progress:
        return runner.run(paths, jobs=jobs, keyword=args.keyword, use_cache=not args.no_cache,
                          timeout=args.timeout, sampling=Sampling(args.points, args.backend),
                          on_collected=on_collected, on_step=on_step)


def verify(args) -> int:
    from . import report

    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    result = run_checks(args, args.paths, errors)
    if result is None:
        return EXIT_USAGE
    report.print_report(result, console, verbose=args.verbose, quiet=args.quiet)
    if args.json:
        report.write_json(result, args.json)
        if not args.quiet:
            console.print(f"JSON written to {args.json}")
    if args.keyword and not result.derivations and not result.failures:
        errors.print(f"deriv: no derivation matches -k {args.keyword!r}")
        return EXIT_USAGE
    if result.failures:
        return EXIT_USAGE
    return EXIT_PASS if result.passed else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
