"""Declarative configuration: suites (checkpoints.yaml), tasks (tasks/*.yaml), experiments.

Every file is validated strictly (unknown keys are errors) so a typo fails at once with one
line naming the file and the field, instead of silently running the wrong experiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import UserError
from .paths import project_root


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- suites -------------------------------------------------------------------------------

class ModelShape(Strict):
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    heads: int = Field(gt=0)
    intermediate: int | None = Field(default=None, gt=0)
    vocab_size: int = Field(default=4096, ge=260)
    seq_len: int = Field(default=128, gt=8)

    @model_validator(mode="after")
    def _heads_divide_hidden(self):
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        return self


class PretrainSchedule(Strict):
    steps: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    lr: float = Field(gt=0)
    warmup_steps: int = Field(default=0, ge=0)
    min_lr_ratio: float = Field(default=0.1, ge=0, le=1)
    weight_decay: float = Field(default=0.1, ge=0)
    seed: int = 0
    log_spaced_until: int = Field(default=512, ge=1)
    evenly_spaced: int = Field(default=5, ge=1, description="checkpoints after the log-spaced ones")


class CorpusSpec(Strict):
    shakespeare: bool = True
    bbc_pretrain_articles: bool = True
    max_chars: int | None = Field(default=None, gt=0)
    heldout_fraction: float = Field(default=0.02, gt=0, lt=0.5)


class LocalSuite(Strict):
    kind: Literal["local"]
    description: str = ""
    model: ModelShape
    train: PretrainSchedule
    corpus: CorpusSpec = CorpusSpec()
    weak: str | None = None


class HubSuite(Strict):
    kind: Literal["hub"]
    description: str = ""
    repo: str
    family: Literal["pythia", "olmo", "olmo2", "explicit"]
    revisions: list[str] | None = None
    tokens_per_step: int | None = Field(default=None, gt=0)
    weak: str | None = None
    allow_pickle: bool = False
    trust_remote_code: bool = False

    @model_validator(mode="after")
    def _explicit_needs_revisions(self):
        if self.family == "explicit" and not self.revisions:
            raise ValueError("family 'explicit' needs a 'revisions' list")
        return self


Suite = LocalSuite | HubSuite


class SuitesFile(Strict):
    suites: dict[str, Annotated[LocalSuite | HubSuite, Field(discriminator="kind")]]


# ---- tasks --------------------------------------------------------------------------------

class PassageSpec(Strict):
    min_words: int = Field(default=48, gt=0)
    max_words: int = Field(default=96, gt=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min_words > self.max_words:
            raise ValueError("min_words must not exceed max_words")
        return self


class BBCSource(Strict):
    kind: Literal["bbc"]
    negative: Literal["business", "entertainment", "politics", "sport", "tech"]
    positive: Literal["business", "entertainment", "politics", "sport", "tech"]

    @model_validator(mode="after")
    def _distinct(self):
        if self.negative == self.positive:
            raise ValueError("negative and positive must be different categories")
        return self


class TaskSpec(Strict):
    id: str
    version: int = Field(ge=1)
    description: str = ""
    source: BBCSource = Field(discriminator="kind")
    passage: PassageSpec = PassageSpec()


# ---- experiments --------------------------------------------------------------------------

class SplitSpec(Strict):
    weak_train: float = Field(default=0.3, gt=0, lt=1)
    strong_train: float = Field(default=0.4, gt=0, lt=1)
    max_weak_train: int | None = Field(default=None, gt=1)
    max_strong_train: int | None = Field(default=None, gt=1)
    max_test: int | None = Field(default=None, gt=1)

    @model_validator(mode="after")
    def _leaves_test(self):
        if self.weak_train + self.strong_train >= 1:
            raise ValueError("weak_train + strong_train must leave a test share (< 1)")
        return self


class HeadSpec(Strict):
    l2: float = Field(default=1e-2, ge=0)
    max_iter: int = Field(default=200, gt=0)


class Experiment(Strict):
    suite: str
    weak: str | None = None
    select: str = "all"
    tasks: list[str] = Field(min_length=1)
    mode: Literal["probe"] = "probe"
    losses: list[Literal["xent"]] = ["xent"]
    seeds: list[int] = Field(default=[0, 1, 2], min_length=1)
    pooling: Literal["mean", "last"] = "mean"
    max_tokens: int = Field(default=128, gt=0)
    max_examples_per_task: int | None = Field(default=2000, gt=3)
    batch_size: int = Field(default=64, gt=0)
    splits: SplitSpec = SplitSpec()
    head: HeadSpec = HeadSpec()
    pgr_margin: float = Field(default=0.01, ge=0)


class ExperimentsFile(Strict):
    experiments: dict[str, Experiment]


# ---- loading ------------------------------------------------------------------------------

def _read_yaml(path: Path) -> object:
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None


def _user_path(data: object, loc: tuple) -> list[str]:
    """The location as the user wrote it: without pydantic's union tags, which are not keys."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and node.get("kind") == part:
            continue
        out.append(str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return out


def _validate(model: type[BaseModel], data: object, path: Path):
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        errors = exc.errors()
        # A typo'd key also makes the real key "missing": report the typo, the root cause.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(_user_path(data, err["loc"]))
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise UserError(f"{path}: {loc or '<top>'}: {msg}") from None


def load_suites(path: Path | None = None) -> dict[str, Suite]:
    path = path or project_root() / "checkpoints.yaml"
    data = _read_yaml(path)
    if isinstance(data, dict):
        for name, suite in (data.get("suites") or {}).items():
            if isinstance(suite, dict) and suite.get("kind") not in ("local", "hub"):
                raise UserError(f"{path}: suites.{name}.kind: must be 'local' or 'hub'")
    parsed = _validate(SuitesFile, data, path)
    for name, suite in parsed.suites.items():
        if suite.weak and suite.weak.split(":")[0] not in parsed.suites:
            raise UserError(f"{path}: suites.{name}.weak: unknown suite '{suite.weak}'")
    return parsed.suites


def load_tasks(folder: Path | None = None) -> dict[str, TaskSpec]:
    folder = folder or project_root() / "tasks"
    specs: dict[str, TaskSpec] = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = _validate(TaskSpec, _read_yaml(path), path)
        if spec.id in specs:
            raise UserError(f"{path}: id: task '{spec.id}' is declared twice")
        specs[spec.id] = spec
    return specs


def load_experiments(path: Path | None = None) -> dict[str, Experiment]:
    path = path or project_root() / "experiments.yaml"
    return _validate(ExperimentsFile, _read_yaml(path), path).experiments


def check_experiment(name: str, exp: Experiment, suites: dict[str, Suite],
                     tasks: dict[str, TaskSpec], path: Path) -> None:
    """Cross-file references, checked before any work starts."""
    if exp.suite not in suites:
        raise UserError(f"{path}: experiments.{name}.suite: unknown suite '{exp.suite}' "
                        f"(known: {', '.join(sorted(suites))})")
    weak = exp.weak or suites[exp.suite].weak
    if not weak:
        raise UserError(f"{path}: experiments.{name}.weak: suite '{exp.suite}' has no default "
                        "weak supervisor; name one")
    if weak.split(":")[0] not in suites:
        raise UserError(f"{path}: experiments.{name}.weak: unknown suite '{weak}'")
    for task in exp.tasks:
        if task not in tasks:
            raise UserError(f"{path}: experiments.{name}.tasks: unknown task '{task}' "
                            f"(known: {', '.join(sorted(tasks))})")
