"""Run an experiment into a run directory: tidy CSVs, a JSON summary, PNG plots and a manifest.

Every file is written to a temporary name in the same directory and moved into place with
os.replace, so a reader (or a crash) never sees a half-written file; the manifest goes last, so
its presence means the run finished.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import plots
from . import EXPERIMENTS
from .experiments import RUNNERS, ExperimentOutput, config_dict, config_for
from .threads import limited_blas_threads


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_ready(value):
    """NaN and numpy scalars are not JSON; make them null and plain numbers."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value) -> str:
    return json.dumps(_json_ready(value), indent=2, allow_nan=False) + "\n"


def default_run_dir(experiment: str) -> Path:
    return Path("runs") / f"simulate-{experiment}"


def build_figure(experiment: str, output: ExperimentOutput, config):
    tables, summary = output.tables, output.summary
    if experiment == "bbp":
        return plots.plot_bbp(tables["results"], summary)
    if experiment == "escape":
        return plots.plot_escape(tables["results"], summary, config.d, config.batch)
    if experiment == "transition":
        return plots.plot_transition(tables["per_n_pre"], tables["results"], summary)
    if experiment == "saturation":
        return plots.plot_saturation(tables["results"], tables["trajectories"], summary)
    raise ValueError(f"unknown experiment '{experiment}'")


@dataclass(frozen=True)
class RunRecord:
    experiment: str
    run_dir: Path
    summary: dict
    wall_time_s: float
    files: tuple[str, ...]


def run_experiment(experiment: str, *, quick: bool = False, seed: int = 0, run_dir: Path | None = None) -> RunRecord:
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment '{experiment}' (known: {', '.join(EXPERIMENTS)})")
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(experiment)
    config = config_for(experiment, quick)
    started = datetime.now(timezone.utc)
    clock, cpu_clock = time.perf_counter(), time.process_time()
    with limited_blas_threads(1):
        output = RUNNERS[experiment](config, seed)
        figure_bytes = plots.figure_png(build_figure(experiment, output, config))
    compute_time = time.perf_counter() - clock
    files = []
    for name, table in output.tables.items():
        atomic_write_text(run_dir / f"{name}.csv", table.to_csv(index=False))
        files.append(f"{name}.csv")
    atomic_write_text(run_dir / "summary.json", to_json({"experiment": experiment, "seed": seed, "quick": quick, **output.summary}))
    files.append("summary.json")
    figure_name = f"simulate-{experiment}.png"
    atomic_write_bytes(run_dir / figure_name, figure_bytes)
    files.append(figure_name)
    wall_time, cpu_time = time.perf_counter() - clock, time.process_time() - cpu_clock
    manifest = {
        "experiment": experiment,
        "seed": seed,
        "quick": quick,
        "parameters": config_dict(config),
        "command": f"w2s simulate {experiment}{' --quick' if quick else ''} --seed {seed} --run-dir {run_dir}",
        "started_at": started.isoformat(timespec="seconds"),
        "compute_time_s": round(compute_time, 3),
        "wall_time_s": round(wall_time, 3),
        "cpu_time_s": round(cpu_time, 3),  # wall time on a shared machine says more about the neighbours
        "files": files,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     **{name: sys.modules[name].__version__ for name in ("scipy", "pandas", "matplotlib") if name in sys.modules}},
    }
    atomic_write_text(run_dir / "manifest.json", to_json(manifest))
    return RunRecord(experiment, run_dir, output.summary, wall_time, tuple(files + ["manifest.json"]))
