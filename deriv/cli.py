"""The `deriv` command line: verify, check, annotate, plot, extract, mutate."""
from __future__ import annotations

import argparse
import importlib
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__
from .cache import cache_dir
from .fastpath import BACKENDS, CROSSOVER_CACHED, CROSSOVER_COLD
from .numeric import FLOAT_POINTS, Sampling

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MODULE_COMMANDS = ("annotate", "plot", "extract", "mutate")  # deriv.<command>.main(args)

VERIFY_HELP = r"""Check every step of every derivation and print a report.

Each step is proved symbolically where possible (proved), otherwise sampled at many points in
float64 with every doubtful point and a sample of agreeing points re-computed at 50 and 80
digits (numeric), or refuted with a counterexample confirmed at high precision (refuted).
unknown means no decision within the time budget; error means the step could not be built or
evaluated. A run passes when every step is proved or numeric, except steps the derivation
marks as expected refutations (real mistakes of the document), which must be refuted.

DOCUMENTS: in a Markdown (.md, .txt) or LaTeX (.tex) file, every display-math block ($$ ... $$,
\[ ... \], equation/align/gather environments) is a chain: `A &= B \\ &= C \\ &\le D` gives
the steps A = B, B = C, C <= D, each at the line of its right-hand side; `\lim_{x \to a} g = v`
is a limit; `\approx` is reported, never refuted. What the symbols mean comes from YAML front
matter under `deriv:` or a sidecar DOC.deriv.yaml (symbols, domain, define, params, discrete,
data, integrals, skip, claims, sections). A line that cannot be read is an error step quoting
the LaTeX. `deriv extract DOC` writes the equivalent derivation module.

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
    parser.add_argument("--derivation-timeout", type=float, default=None, metavar="SECONDS",
                        help="wall-clock limit for all the steps of one derivation (default 1800 s); "
                             "steps left when it is used up are reported unknown")
    parser.add_argument("--load-timeout", type=float, default=None, metavar="SECONDS",
                        help="time limit for loading one derivation module (default 60 s): a module "
                             "that loops is reported with its line, and the others are checked")
    parser.add_argument("--points", type=int, default=FLOAT_POINTS, metavar="N",
                        help=f"float64 points per step in the numeric screen (default {FLOAT_POINTS}); "
                             "more points look harder for a counterexample")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="float64 backend: numpy, numba (compiled, parallel; needs the 'fast' extra), "
                             "or auto: numba only where the point count pays for compiling "
                             f"(>= {CROSSOVER_COLD:,} points, or {CROSSOVER_CACHED:,} with a kernel "
                             "already cached on disk)")


def build_parser() -> argparse.ArgumentParser:
    from . import annotate, extract, mutate, plot

    parser = argparse.ArgumentParser(prog="deriv", description="deriv: a derivation verifier.")
    parser.add_argument("--version", action="version", version=f"deriv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    verify = commands.add_parser("verify", help="check derivations and report every step",
                                 description=VERIFY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("paths", nargs="*", metavar="PATH",
                        help="derivation modules (.py), folders of them, or documents (.md, .txt, "
                             ".tex: every display-math chain is checked, see DOCUMENTS above); "
                             "default: the bundled derivations of CATSMILE-1019. Loading a module "
                             "runs its code; a document is only read.")
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
    add_check_arguments(commands.add_parser(
        "check", help="check one claim given on the command line: deriv check 'LHS' 'RHS'",
        description=CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter))
    extract.add_arguments(commands.add_parser(
        "extract", help="write the derivation module a Markdown/LaTeX document parses into",
        description=extract.HELP, formatter_class=argparse.RawDescriptionHelpFormatter))
    mutate.add_arguments(commands.add_parser(
        "mutate", help="mutation testing: every accepted step's mutants must be refuted",
        description=mutate.HELP, formatter_class=argparse.RawDescriptionHelpFormatter))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "verify":
        return verify(args)
    if args.command == "check":
        return check_command(args)
    if args.command in MODULE_COMMANDS:  # imported only when used
        return importlib.import_module(f".{args.command}", __package__).main(args)
    parser.print_help()
    return EXIT_USAGE


CHECK_HELP = """\
Check one claim LHS RELATION RHS given as text, e.g.

  deriv check "log(2*m)" "log(2) + log(m)" --symbol m:positive
  deriv check "(x+1)^2" "x^2 + 2*x - 1" --domain x=-3:3          # refuted, with a diagnosis
  deriv check "exp(x)" "1 + x" -r ge
  deriv check "m*exp(m)/(exp(m)-1)^2 - 1/m" 0 --limit m=0

The text is parsed without running code (Python's ast, translated node by node to sympy: numbers,
names, + - * / ** ^ and calls of mathematical functions); undeclared names are real symbols.

Exit status: 0 proved or numeric, 1 refuted or unknown, 2 error or usage error.
"""


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lhs", metavar="LHS", help="left-hand side (or the expression of a limit)")
    parser.add_argument("rhs", metavar="RHS", help="right-hand side (or the value of a limit)")
    parser.add_argument("--relation", "-r", default="eq", choices=("eq", "le", "ge", "lt", "gt", "const"),
                        help="LHS RELATION RHS (default eq; const: equal up to a constant in --wrt)")
    parser.add_argument("--symbol", "-s", action="append", default=[], metavar="NAME[:ASSUMPTIONS]",
                        help="declare a symbol, e.g. m:positive or n:integer,nonnegative (default: real)")
    parser.add_argument("--domain", "-d", action="append", default=[], metavar="NAME=LO:HI",
                        help="sampling interval of a symbol, e.g. x=-3:3")
    parser.add_argument("--wrt", default="", metavar="A,B", help="for const: the symbols the constant is free of")
    parser.add_argument("--limit", metavar="VAR=POINT", help="check lim_{VAR -> POINT} LHS = RHS instead")
    parser.add_argument("--direction", default="+-", choices=("+", "-", "+-"), help="side of a limit (default both)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time budget (default 120 s)")
    parser.add_argument("--json", metavar="FILE", help="also write the verdict as JSON to FILE")


def check_command(args) -> int:
    """`deriv check LHS RHS`: one claim from text, parsed without eval."""
    import json

    from rich.panel import Panel
    from rich.text import Text

    from .checks import check, check_limit
    from .diagnosis import diagnose, diagnose_limit
    from .explain import RELATIONS, SYMBOLS, evidence_lines
    from .parse import ParseError, parse, parse_symbol_spec
    from .report import STYLES
    from .verdict import Status

    console, errors = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        symbols = {}
        for spec in args.symbol:
            name, flags = parse_symbol_spec(spec)
            symbols[name] = __import__("sympy").Symbol(name, **flags)
        lhs, rhs = parse(args.lhs, symbols), parse(args.rhs, symbols)
        domain = {}
        for spec in args.domain:
            name, _, interval = spec.partition("=")
            low, _, high = interval.partition(":")
            domain[symbols.get(name.strip()) or parse(name, symbols)] = (float(parse(low, symbols)),
                                                                         float(parse(high, symbols)))
        wrt = [parse(w, symbols) for w in args.wrt.split(",") if w.strip()]
        limit = None
        if args.limit:
            var, _, point = args.limit.partition("=")
            limit = (parse(var, symbols), parse(point, symbols))
    except (ParseError, ValueError, TypeError) as exc:
        errors.print(f"deriv check: {exc}")
        return EXIT_USAGE
    if args.timeout is not None and not args.timeout > 0:
        errors.print("deriv check: --timeout must be a positive number of seconds")
        return EXIT_USAGE
    if limit:
        verdict = check_limit(lhs, limit[0], limit[1], rhs, direction=args.direction, domain=domain,
                              timeout=args.timeout)
        claim, relation = f"lim {limit[0]}→{limit[1]} {lhs} = {rhs}", "limit"
        if verdict.status is Status.REFUTED:
            verdict = verdict.with_evidence(diagnosis=diagnose_limit(
                lhs, limit[0], limit[1], rhs, verdict, check_value=lambda value, t: check_limit(
                    lhs, limit[0], limit[1], value, direction=args.direction, domain=domain, timeout=t)))
    else:
        verdict = check(lhs, rhs, args.relation, domain=domain, wrt=wrt, timeout=args.timeout)
        claim, relation = f"{lhs}  {RELATIONS[args.relation]}  {rhs}", args.relation
        if verdict.status is Status.REFUTED:
            verdict = verdict.with_evidence(diagnosis=diagnose(lhs, rhs, args.relation, verdict,
                                                               domain=domain, wrt=wrt))
    body = [Text(claim), Text.assemble((f"{SYMBOLS[verdict.status]} {verdict.status.value}",
                                        STYLES[verdict.status]), f"  ({verdict.method}, {verdict.seconds:.2f} s)")]
    body += [Text(line) for line in evidence_lines(verdict, relation)]
    if verdict.status in (Status.UNKNOWN, Status.ERROR) and verdict.detail not in evidence_lines(verdict, relation):
        body.append(Text(verdict.detail))
    from rich.console import Group

    console.print(Panel(Group(*body), title="deriv check", title_align="left", border_style=STYLES[verdict.status]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"lhs": str(lhs), "rhs": str(rhs), "relation": relation, **verdict.to_dict()},
                      handle, indent=2, ensure_ascii=False, default=str)
            handle.write("\n")
    if verdict.status in (Status.PROVED, Status.NUMERIC):
        return EXIT_PASS
    return EXIT_USAGE if verdict.status is Status.ERROR else EXIT_FAIL


def derivation_paths(paths: list, errors: Console, command: str) -> list | None:
    """The derivation modules to load (default: the bundled ones), or None after printing why not."""
    from . import runner

    try:
        paths = paths or [runner.bundled_path()]
        runner.module_files(paths)
    except FileNotFoundError as exc:
        errors.print(f"{command}: {exc}")
        return None
    return paths


def live_progress(errors: Console):
    """A transient progress bar on stderr (only on a terminal) with a `tally` field, and its task."""
    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[tally]}"), TimeElapsedColumn(),
                        console=errors, transient=True, disable=not errors.is_terminal)
    return progress, progress.add_task("loading", total=None, tally="")


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
    for option in ("timeout", "derivation_timeout", "load_timeout"):
        value = getattr(args, option)
        if value is not None and not value > 0:
            errors.print(f"deriv: --{option.replace('_', '-')} must be a positive number of seconds")
            return None
    jobs = args.jobs or runner.default_jobs()
    paths = derivation_paths(paths, errors, "deriv")
    if paths is None:
        return None
    progress, task = live_progress(errors)
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
                          derivation_seconds=args.derivation_timeout or runner.DERIVATION_SECONDS,
                          load_seconds=args.load_timeout or runner.LOAD_SECONDS,
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
    return exit_status(args, result, errors, "deriv", failed=not result.passed)


def exit_status(args, result, errors: Console, command: str, failed: bool) -> int:
    """2 when -k matched nothing or a module could not be loaded, else 1 if `failed`, else 0."""
    if args.keyword and not result.derivations and not result.failures:
        errors.print(f"{command}: no derivation matches -k {args.keyword!r}")
        return EXIT_USAGE
    if result.failures:
        return EXIT_USAGE
    return EXIT_FAIL if failed else EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
