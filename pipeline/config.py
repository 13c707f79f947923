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


# numpy and torch take seeds in [0, 2**32); YAML's `true` is not a seed
Seed = Annotated[int, Field(ge=0, lt=2 ** 32, strict=True)]


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
    seed: Seed = 0
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


HF_FORMATS = ("sciq", "boolq", "cosmos_qa", "amazon_polarity", "anthropic_hh")


class HFSource(Strict):
    """A Hugging Face dataset at a pinned revision, turned into binary examples by `format`.

    `data_files` (with `builder`) reads local files in the same schema instead of the Hub: the
    same code path, for tests and for users who mirror a dataset.
    """

    kind: Literal["hf"]
    format: Literal["sciq", "boolq", "cosmos_qa", "amazon_polarity", "anthropic_hh"]
    repo: str
    revision: str
    name: str | None = None
    splits: list[str] = Field(min_length=1)
    max_rows_per_split: int | None = Field(default=None, gt=0)
    builder: Literal["json", "parquet", "csv"] | None = None
    data_files: dict[str, str | list[str]] | None = None

    @model_validator(mode="after")
    def _files_need_builder(self):
        if bool(self.data_files) != bool(self.builder):
            raise ValueError("data_files and builder go together")
        if self.data_files and set(self.splits) - set(self.data_files):
            raise ValueError(f"data_files lacks splits {sorted(set(self.splits) - set(self.data_files))}")
        return self


class FineFoodsSource(Strict):
    kind: Literal["fine_foods"]


class SpamAssassinSource(Strict):
    kind: Literal["spam_assassin"]
    groups: list[Literal["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]] = [
        "easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]


WORDNET_NOUN_FILES = ("Tops", "act", "animal", "artifact", "attribute", "body", "cognition", "communication",
                      "event", "feeling", "food", "group", "location", "motive", "object", "person",
                      "phenomenon", "plant", "possession", "process", "quantity", "relation", "shape",
                      "state", "substance", "time")


class WordNetSource(Strict):
    """Noun glosses labelled by their lexicographer file (noun.animal, noun.plant, ...)."""

    kind: Literal["wordnet"]
    negative: str
    positive: str
    with_examples: bool = False

    @model_validator(mode="after")
    def _known_distinct(self):
        for side in (self.negative, self.positive):
            if side not in WORDNET_NOUN_FILES:
                raise ValueError(f"'{side}' is not a noun lexicographer file ({', '.join(WORDNET_NOUN_FILES)})")
        if self.negative == self.positive:
            raise ValueError("negative and positive must be different categories")
        return self


TaskSource = Annotated[BBCSource | HFSource | FineFoodsSource | SpamAssassinSource | WordNetSource,
                       Field(discriminator="kind")]


class TaskSpec(Strict):
    id: str
    version: int = Field(ge=1)
    description: str = ""
    source: TaskSource
    passage: PassageSpec = PassageSpec()
    max_words: int = Field(default=160, gt=0, description="word budget per example, the same for every tokenizer")


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


class IterativeHeadSpec(Strict):
    """Probe heads under losses other than xent (no convex objective, so Adam, not L-BFGS)."""

    steps: int = Field(default=300, gt=0)
    lr: float = Field(default=0.05, gt=0)
    batch_size: int | None = Field(default=None, gt=0, description="None: full batch")
    seed: Seed = 0


class LossOptions(Strict):
    logconf_warmup_fraction: float = Field(default=0.2, ge=0, le=1)
    logconf_max_weight: float = Field(default=0.75, ge=0, le=1)
    logconf_buffer: int = Field(default=32, gt=0, description="recent predictions a small batch's threshold uses")
    logconf_min_batch: int = Field(default=8, gt=0, description="batches this big use only their own predictions")
    product_alpha: float = Field(default=1.0, ge=0)
    product_beta: float = Field(default=1.0, ge=0)
    kl_eps: float = Field(default=1e-6, gt=0, lt=0.5)

    def for_loss(self, loss: str) -> dict:
        """Only the options a loss reads, so changing one loss's option keeps the others' results."""
        prefix = {"logconf": "logconf_", "product": "product_", "kl": "kl_"}.get(loss)
        return {k: v for k, v in self.model_dump().items() if prefix and k.startswith(prefix)}


class FinetuneSpec(Strict):
    """lora/full training; a field left unset takes the per-size default (SIZE_DEFAULTS)."""

    lr: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, gt=0, description="per device, per micro-step")
    epochs: int | None = Field(default=None, gt=0)
    eval_batch_size: int | None = Field(default=None, gt=0)
    grad_accum: int = Field(default=1, gt=0)
    gradient_checkpointing: bool = False
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_fraction: float = Field(default=0.1, ge=0, lt=1, description="linear lr warmup, then linear decay")
    max_grad_norm: float | None = Field(default=1.0, gt=0)
    head_lr_scale: float = Field(default=10.0, gt=0, description="the fresh head learns faster than the body")
    seed: Seed = 0


class LoraSpec(Strict):
    r: int = Field(default=8, gt=0)
    alpha: float = Field(default=16.0, gt=0)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: list[str] | None = Field(default=None, min_length=1,
                                             description="None: found from the architecture")


class SizeDefaults(Strict):
    max_params: float
    lora_lr: float
    full_lr: float
    batch_size: int
    epochs: int
    eval_batch_size: int


# Smaller models take larger learning rates and more epochs; the first row whose max_params
# is at least the model's parameter count applies.
SIZE_DEFAULTS = (
    SizeDefaults(max_params=3e7, lora_lr=2e-3, full_lr=5e-4, batch_size=16, epochs=3, eval_batch_size=128),
    SizeDefaults(max_params=3e8, lora_lr=5e-4, full_lr=5e-5, batch_size=32, epochs=2, eval_batch_size=64),
    SizeDefaults(max_params=3e9, lora_lr=2e-4, full_lr=1e-5, batch_size=16, epochs=2, eval_batch_size=32),
    SizeDefaults(max_params=float("inf"), lora_lr=1e-4, full_lr=5e-6, batch_size=8, epochs=1, eval_batch_size=16),
)


def finetune_settings(spec: FinetuneSpec, mode: str, n_params: int) -> dict:
    """The fully resolved training settings for one model: what a unit's key records."""
    row = next(r for r in SIZE_DEFAULTS if n_params <= r.max_params)
    out = spec.model_dump()
    defaults = {"lr": row.lora_lr if mode == "lora" else row.full_lr, "batch_size": row.batch_size,
                "epochs": row.epochs, "eval_batch_size": row.eval_batch_size}
    for k, v in defaults.items():
        if out[k] is None:
            out[k] = v
    return out


BOW_WEAK = "bow"


class Experiment(Strict):
    suite: str
    weak: str | None = None
    select: str = "all"
    tasks: list[str] = Field(min_length=1)
    mode: Literal["probe", "lora", "full"] = "probe"
    weak_mode: Literal["probe", "lora", "full"] = "probe"
    losses: list[Literal["xent", "logconf", "product", "kl"]] = Field(default=["xent"], min_length=1)
    seeds: list[Seed] = Field(default=[0, 1, 2], min_length=1)
    pooling: Literal["mean", "last"] = "mean"
    max_tokens: int = Field(default=128, gt=0)
    max_examples_per_task: int | None = Field(default=2000, ge=20)
    batch_size: int = Field(default=64, gt=0)
    splits: SplitSpec = SplitSpec()
    head: HeadSpec = HeadSpec()
    pgr_margin: float = Field(default=0.01, ge=0)
    iterative_head: IterativeHeadSpec = IterativeHeadSpec()
    loss_options: LossOptions = LossOptions()
    finetune: FinetuneSpec = FinetuneSpec()
    lora: LoraSpec = LoraSpec()
    bow_buckets: int = Field(default=4096, ge=16, description="hash buckets of the bag-of-words weak supervisor")

    @model_validator(mode="after")
    def _seeds_unique(self):
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must not repeat (a repeated seed would count twice in every mean)")
        return self


class ExperimentsFile(Strict):
    experiments: dict[str, Experiment]


# ---- loading ------------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key '{key}' appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _read_yaml(path: Path) -> object:
    try:
        with open(path) as fh:
            return yaml.load(fh, Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable YAML file ({type(exc).__name__})") from None
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
    if isinstance(data, dict) and isinstance(data.get("suites"), dict):
        for name, suite in data["suites"].items():
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
    if weak != BOW_WEAK and weak.split(":")[0] not in suites:
        raise UserError(f"{path}: experiments.{name}.weak: unknown suite '{weak}' (or '{BOW_WEAK}')")
    for task in exp.tasks:
        if task not in tasks:
            raise UserError(f"{path}: experiments.{name}.tasks: unknown task '{task}' "
                            f"(known: {', '.join(sorted(tasks))})")
