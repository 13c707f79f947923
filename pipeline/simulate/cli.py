"""`w2s simulate EXPERIMENT`: the command-line face of the theory simulator.

The parent `w2s` parser owns the subcommand; this module only adds its arguments and runs it.
Arguments are validated here rather than by argparse types so bad input costs one line on stderr
and exit code 2, never a usage dump or a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import EXPERIMENTS

MAX_SEED = 2**63 - 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", metavar="EXPERIMENT", help=f"one of: {', '.join(EXPERIMENTS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds (for tests)")
    parser.add_argument("--run-dir", metavar="DIR", default=None, help="output directory (default: runs/simulate-EXPERIMENT/)")
    parser.add_argument("--seed", metavar="N", default="0", help="random seed, an integer >= 0 (default: 0)")


def _fail(message: str) -> int:
    print(f"w2s simulate: error: {message}", file=sys.stderr)
    return 2


def _number(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def summary_lines(experiment: str, summary: dict) -> list[str]:
    """The few numbers worth reading on a terminal; everything else is in summary.json."""
    if experiment == "bbp":
        deviations = ", ".join(f"d={d}: {_number(v['max_abs_deviation_away_from_threshold'])}"
                               for d, v in summary["deviation_from_closed_form"].items())
        return [f"max |measured - closed form| of the squared overlap away from the threshold: {deviations}",
                f"largest deviation near the threshold (finite-d rounding): {_number(summary['largest_deviation_near_threshold'])}"]
    if experiment == "escape":
        lines = [f"random-start overlap scale d^-1/2 = {_number(summary['random_overlap_scale'])}"]
        for c in summary["curves"]:
            lines.append(f"{c['link']} (k={c['information_exponent']}) {c['start']:>8} start, {c['labels']} labels: median |<w,w*>| "
                         f"{_number(c['initial_median_overlap'])} -> "
                         f"{_number(c['final_median_overlap'])}, escaped {c['escaped_fraction']:.0%}")
        return lines
    if experiment == "transition":
        below, above = summary["below_threshold"], summary["above_threshold"]
        turns = summary["pgr_turns_positive_at_n_pre"]
        return [
            f"BBP threshold N_pre = d / beta^2 = {_number(summary['threshold_n_pre'])}; weak supervisor error {_number(summary['err_weak'])}",
            f"PGR turns positive at N_pre = {_number(turns)}"
            + ("" if turns is None else f" ({_number(summary['pgr_turns_positive_over_threshold'])} x threshold)"),
            f"below (N_pre <= 0.5 x threshold): PGR defined at {below['pgr_defined_points']}/{below['points']} points; "
            f"err w2s {_number(below['err_w2s_mean'])}, ceiling {_number(below['err_ceiling_mean'])}, "
            f"1 - err_w2s/err_weak = {_number(below['oracle_pgr_mean'])}",
            f"above (N_pre >= 4 x threshold): PGR {_number(above['pgr_mean'])}; err w2s {_number(above['err_w2s_mean'])}, "
            f"ceiling {_number(above['err_ceiling_mean'])}",
        ]
    if experiment == "saturation":
        lines = []
        for kind, block in summary["kinds"].items():
            parts = [f"{p['size']:g}: {_number(p['err_w2s'])}/{_number(p['err_weak'])}" for p in block["sizes"] if p["err_weak"] > 1e-9]
            lines.append(f"{kind} ({block['parameter']}): final w2s error / supervisor error = " + ", ".join(parts))
        return lines
    return []


def main(args: argparse.Namespace) -> int:
    experiment = getattr(args, "experiment", None)
    if experiment not in EXPERIMENTS:
        return _fail(f"unknown experiment '{experiment}' (choose from: {', '.join(EXPERIMENTS)})")
    try:
        seed = int(str(args.seed).strip())
    except ValueError:
        return _fail(f"--seed must be an integer >= 0, got '{args.seed}'")
    if not 0 <= seed <= MAX_SEED:
        return _fail(f"--seed must be between 0 and {MAX_SEED}, got {seed}")
    run_dir = Path(args.run_dir) if getattr(args, "run_dir", None) else None
    if run_dir is not None and str(args.run_dir).strip() == "":
        return _fail("--run-dir must not be empty")
    if run_dir is not None and run_dir.exists() and not run_dir.is_dir():
        return _fail(f"--run-dir '{run_dir}' exists and is not a directory")

    from .runner import run_experiment

    try:
        record = run_experiment(experiment, quick=bool(getattr(args, "quick", False)), seed=seed, run_dir=run_dir)
    except OSError as error:
        print(f"w2s simulate: error: cannot write the run directory: {error}", file=sys.stderr)
        return 1
    print(f"simulate {experiment}{' (quick)' if args.quick else ''}, seed {seed}: {record.wall_time_s:.1f} s -> {record.run_dir}/")
    for line in summary_lines(experiment, record.summary):
        print(f"  {line}")
    return 0
