"""The `w2s` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import UserError
from .paths import project_root


def _config_paths(args) -> tuple[Path, Path, Path]:
    root = project_root()
    return (Path(args.checkpoints or root / "checkpoints.yaml"), Path(args.tasks_dir or root / "tasks"),
            Path(args.experiments or root / "experiments.yaml"))


def _add_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoints", metavar="FILE", help="suites file (default: checkpoints.yaml)")
    p.add_argument("--tasks-dir", metavar="DIR", help="task definitions (default: tasks/)")
    p.add_argument("--experiments", metavar="FILE", help="experiments file (default: experiments.yaml)")


def cmd_run(args) -> int:
    from .config import check_experiment, load_experiments, load_suites, load_tasks
    from .runner import Runner

    suites_path, tasks_dir, exp_path = _config_paths(args)
    suites, tasks, experiments = load_suites(suites_path), load_tasks(tasks_dir), load_experiments(exp_path)
    if args.preset not in experiments:
        raise UserError(f"{exp_path}: no experiment '{args.preset}' (known: {', '.join(sorted(experiments))})")
    exp = experiments[args.preset]
    overrides = {}
    if args.select:
        overrides["select"] = args.select
    if args.tasks:
        overrides["tasks"] = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.seeds:
        try:
            overrides["seeds"] = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            raise UserError(f"--seeds: expected comma-separated integers, got '{args.seeds}'") from None
    if args.suite:
        overrides["suite"] = args.suite
    if args.weak:
        overrides["weak"] = args.weak
    if args.mode:
        overrides["mode"] = args.mode
    if args.loss:
        overrides["losses"] = [x.strip() for x in args.loss.split(",") if x.strip()]
    if overrides:
        from .config import Experiment, _validate

        exp = _validate(Experiment, {**exp.model_dump(), **overrides}, Path("command line"))
    check_experiment(args.preset, exp, suites, tasks, exp_path)
    run_dir = Path(args.run_dir or Path("runs") / args.preset)
    from .scale.cli import coordinator_for
    from .scale.coordinator import run_until_settled

    coord = coordinator_for(args, run_dir)  # this process's share of a run others may work on too
    runner = Runner(args.preset, exp, suites, tasks, run_dir,
                    progress=not args.no_progress and coord.launch.is_main, coord=coord)
    outcome = run_until_settled(runner)
    s = outcome.stats
    print(outcome.summary_text())
    if s.computed == 0 and s.failed == 0:
        print(f"everything is done: {s.reused} finished units reused, nothing recomputed")
    return 0


def cmd_suite_build(args) -> int:
    from .checkpoints.build import build_suite, suite_path
    from .config import LocalSuite, load_suites

    suites = load_suites(_config_paths(args)[0])
    if args.name not in suites:
        raise UserError(f"unknown suite '{args.name}' (known: {', '.join(sorted(suites))})")
    suite = suites[args.name]
    if not isinstance(suite, LocalSuite):
        raise UserError(f"suite '{args.name}' is a Hub suite; only local suites are built")
    built = build_suite(args.name, suite, progress=not args.no_progress)
    print(f"{args.name}: {len(built)} revisions in {suite_path(args.name, suite)}")
    for r in built:
        print(f"  {r.revision:>10}  tokens {r.tokens:>9}  held-out loss {r.heldout_loss:.3f}")
    return 0


def cmd_tasks_list(args) -> int:
    from .config import load_experiments, load_tasks
    from .tasks.listing import render, task_rows

    _, tasks_dir, exp_path = _config_paths(args)
    specs, experiments = load_tasks(tasks_dir), load_experiments(exp_path)
    if args.preset not in experiments:
        raise UserError(f"{exp_path}: no experiment '{args.preset}' (known: {', '.join(sorted(experiments))})")
    if args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in specs]
        if unknown:
            raise UserError(f"unknown task(s) {', '.join(unknown)} (known: {', '.join(sorted(specs))})")
        specs = {t: specs[t] for t in wanted}
    print(render(task_rows(specs, experiments[args.preset], args.seed), args.format))
    return 0


def cmd_checkpoints_list(args) -> int:
    from .checkpoints.listing import checkpoint_rows, render
    from .config import load_suites

    rows = checkpoint_rows(args.suite, load_suites(_config_paths(args)[0]), args.select)
    print(render(rows, args.format))
    return 0


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--x-axis", default="tokens", metavar="AXIS",
                   help="fit and plot against log10 'tokens' (default; steps where a suite has no token counts) or 'step'")
    p.add_argument("--fit-metric", default="pgr", metavar="METRIC",
                   help="what the transition is fitted to: 'pgr' (default) or 'gap' (acc_w2s - acc_weak)")


def cmd_export(args) -> int:
    from .report.export import export_run

    for path in export_run(args.run_dir, args.format, args.output, args.x_axis, args.fit_metric):
        print(path)
    return 0


def cmd_plot(args) -> int:
    from .report.plot import plot_runs

    for path in plot_runs(args.run_dirs, args.grid, args.output_dir, args.x_axis, args.fit_metric):
        print(path)
    return 0


def cmd_report(args) -> int:
    from .report.report import write_report

    for path in write_report(args.run_dir, args.html, args.x_axis, args.fit_metric):
        print(path)
    return 0


def _add_analysis_commands(sub) -> None:
    export = sub.add_parser("export", help="a run's tables as csv, parquet, md, latex or json")
    export.add_argument("run_dir", metavar="RUN_DIR")
    export.add_argument("--format", required=True, metavar="FORMAT", help="csv, parquet, md, latex or json")
    export.add_argument("--output", metavar="PATH",
                        help="file to write (default: RUN_DIR/export/pgr.EXT; csv and parquet add _by_step and _summary files)")
    _add_analysis_options(export)
    export.set_defaults(func=cmd_export)

    plot = sub.add_parser("plot", help="PGR and accuracies against pre-training (PNG and PDF)")
    plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="one run, or several to plot together")
    plot.add_argument("--grid", action="store_true",
                      help="weak step x strong step PGR heatmap from runs that differ in their weak supervisor")
    plot.add_argument("--output-dir", metavar="DIR", help="where the figures go (default: the first RUN_DIR/plots)")
    _add_analysis_options(plot)
    plot.set_defaults(func=cmd_plot)

    report = sub.add_parser("report", help="RUN_DIR/report.md: findings, figures, tables and provenance")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument("--html", action="store_true", help="also a self-contained RUN_DIR/report.html")
    _add_analysis_options(report)
    report.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="w2s", description="Weak-to-strong generalization across pre-training checkpoints")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run an experiment (default: the embedded default)")
    run.add_argument("--preset", default="default", help="experiment name in experiments.yaml (e.g. quick)")
    run.add_argument("--run-dir", metavar="DIR", help="where results go (default: runs/<preset>/)")
    run.add_argument("--suite", help="strong suite (overrides the experiment's)")
    run.add_argument("--weak", help="weak supervisor, SUITE or SUITE:REVISION")
    run.add_argument("--select", help="revision selection, e.g. 'log:8+steps:143000'")
    run.add_argument("--tasks", help="comma-separated task ids")
    run.add_argument("--seeds", help="comma-separated seeds")
    run.add_argument("--mode", choices=["probe", "lora", "full"], help="strong training mode")
    run.add_argument("--loss", help="comma-separated w2s losses: xent, logconf, product, kl")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_config_options(run)
    from .scale.cli import add_commands as add_scale_commands
    from .scale.cli import add_run_options as add_scale_run_options

    add_scale_run_options(run)
    run.set_defaults(func=cmd_run)

    suite = sub.add_parser("suite", help="local checkpoint suites")
    suite_sub = suite.add_subparsers(dest="suite_command", required=True)
    build = suite_sub.add_parser("build", help="pre-train a local suite (reused when already built)")
    build.add_argument("name")
    build.add_argument("--no-progress", action="store_true")
    _add_config_options(build)
    build.set_defaults(func=cmd_suite_build)

    tasks_cmd = sub.add_parser("tasks", help="inspect the task library")
    tasks_sub = tasks_cmd.add_subparsers(dest="tasks_command", required=True)
    tasks_list = tasks_sub.add_parser("list", help="each task's source, sizes per split and class balance")
    tasks_list.add_argument("--tasks", help="comma-separated task ids (default: all)")
    tasks_list.add_argument("--preset", default="default", help="experiment whose split settings to use")
    tasks_list.add_argument("--seed", type=int, default=0, help="seed of the splits shown")
    tasks_list.add_argument("--format", choices=["table", "json"], default="table")
    _add_config_options(tasks_list)
    tasks_list.set_defaults(func=cmd_tasks_list)

    checkpoints = sub.add_parser("checkpoints", help="inspect a suite's revisions")
    checkpoints_sub = checkpoints.add_subparsers(dest="checkpoints_command", required=True)
    listing = checkpoints_sub.add_parser("list", help="revisions, steps, tokens and pinned commits (no downloads)")
    listing.add_argument("suite")
    listing.add_argument("--select", help="revision selection, e.g. 'log:8+final' or 'tokens:4B-100B'")
    listing.add_argument("--format", choices=["table", "json", "csv"], default="table")
    _add_config_options(listing)
    listing.set_defaults(func=cmd_checkpoints_list)
    _add_analysis_commands(sub)
    from .simulate.cli import add_arguments as add_simulate_arguments
    from .simulate.cli import main as simulate_main

    simulate = sub.add_parser("simulate", help="the synthetic theory simulator (spiked-Gaussian single-index model)")
    add_simulate_arguments(simulate)
    simulate.set_defaults(func=simulate_main)
    add_scale_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(int(os.environ.get("W2S_THREADS", os.cpu_count() or 1)))
        return args.func(args)
    except UserError as exc:
        print(f"w2s: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("w2s: interrupted; finished units are kept, run again to resume", file=sys.stderr)
        return 130
    except OSError as exc:  # a run dir that is a file, an unwritable output, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"w2s: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
