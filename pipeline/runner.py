"""Plan a run as units keyed by their content, then do the units that are not done yet.

Flow: checkpoints -> tasks and splits -> weak supervisor -> strong heads per checkpoint ->
table and plot. Resume is simply re-planning: a unit whose record exists is read, not redone.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import __version__
from .checkpoints.dedupe import DuplicateWeights, model_fingerprint
from .checkpoints.loading import inference_device, load_backbone, resolve
from .checkpoints.prefetch import Prefetcher
from .checkpoints.suites import Checkpoint, suite_checkpoints, weak_checkpoint
from .config import BOW_WEAK, Experiment, Suite, TaskSpec, finetune_settings
from .data.fetch import PACKAGES
from .errors import UserError
from .paths import data_dir, project_root
from .scale.coordinator import Coordinator, GaveUp
from .store import stable_hash
from .strong.features import extract_features
from .strong.losses import make_loss
from .strong.probe import accuracy, fit_and_predict
from .tasks.examples import TaskData
from .tasks.registry import load_task
from .tasks.splits import balanced_indices, make_splits, unit_hash
from .weak.supervisor import WeakLabels, train_weak_supervisor

FEATURES, WEAK, HEAD = "features", "weak", "head"


def numeric_versions() -> dict[str, str]:
    """Versions of the packages whose changes can move the numbers."""
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__}


@dataclass
class TaskPlan:
    data: TaskData
    pool: np.ndarray                       # indices of the examples this run uses
    splits: dict[int, dict[str, np.ndarray]]  # seed -> split -> indices into pool
    split_keys: dict[int, str]

    @property
    def labels(self) -> np.ndarray:
        return self.data.labels[self.pool]


@dataclass
class RunStats:
    computed: int = 0
    reused: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


def plan_task(spec: TaskSpec, exp: Experiment) -> TaskPlan:
    data = load_task(spec)
    labels = data.labels
    ids = [e.id for e in data.examples]
    order = np.array([unit_hash("pool", e) for e in ids])
    pool = balanced_indices(labels, np.arange(len(ids)), order, exp.max_examples_per_task)
    pool_ids = [ids[i] for i in pool]
    docs = [data.doc_ids[i] for i in pool]
    limits = {"weak_train": exp.splits.max_weak_train, "strong_train": exp.splits.max_strong_train,
              "test": exp.splits.max_test}
    splits, keys = {}, {}
    for seed in exp.seeds:
        splits[seed] = make_splits(docs, pool_ids, labels[pool], seed, exp.splits.weak_train,
                                   exp.splits.strong_train, limits)
        keys[seed] = stable_hash({"task": [spec.id, spec.version, data.digest], "pool": pool_ids,
                                  "seed": seed, "splits": exp.splits.model_dump()})
    return TaskPlan(data, pool, splits, keys)


def features_key(ckpt: Checkpoint, spec: TaskSpec, plan: TaskPlan, exp: Experiment) -> str:
    return stable_hash({"unit": FEATURES, "checkpoint": ckpt.weights_identity(),
                        "task": [spec.id, spec.version, plan.data.digest],
                        "pool": stable_hash(plan.pool.tolist()), "pooling": exp.pooling,
                        "max_tokens": exp.max_tokens, "versions": numeric_versions()})


def weak_key(feat_key: str, split_key: str, exp: Experiment, extra: dict | None = None) -> str:
    """`extra`: what else decides the numbers (fine-tuning settings, the bag-of-words baseline)."""
    return stable_hash({"unit": WEAK, "features": feat_key, "split": split_key, "mode": exp.weak_mode,
                        "head": exp.head.model_dump(), **(extra or {})})


def head_key(feat_key: str, split_key: str, target: str, loss: str, exp: Experiment,
             extra: dict | None = None) -> str:
    """`target` is 'ground_truth' for the ceiling or the weak unit's key for a w2s student.

    `feat_key` names the inputs (checkpoint, texts, pooling, max_tokens) in every mode; a loss's
    own options and, in lora/full mode, the resolved training settings come in as well, so
    xent probe heads keep the keys they always had.
    """
    extra = dict(extra or {})
    if loss != "xent":
        extra["loss_options"] = exp.loss_options.for_loss(loss)
        if exp.mode == "probe":
            extra["iterative_head"] = exp.iterative_head.model_dump()
    return stable_hash({"unit": HEAD, "features": feat_key, "split": split_key, "target": target,
                        "loss": loss, "mode": exp.mode, "head": exp.head.model_dump(), **extra})


def bow_checkpoint(exp: Experiment) -> Checkpoint:
    """The bag-of-words weak supervisor stands where a weak checkpoint would."""
    ident = stable_hash({"bow": "hashed-unigram-log1p", "buckets": exp.bow_buckets})
    return Checkpoint(BOW_WEAK, "bag-of-words", f"hashed-{exp.bow_buckets}", 0, None, ident[:40])


def one_line(exc: BaseException) -> str:
    """An error as the one line a table cell, a failure record or the terminal shows."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except OSError:
        return None


class Runner:
    def __init__(self, name: str, exp: Experiment, suites: dict[str, Suite], task_specs: dict[str, TaskSpec],
                 run_dir: Path, progress: bool = True, coord: Coordinator | None = None):
        self.name, self.exp, self.suites, self.task_specs = name, exp, suites, task_specs
        self.coord = coord or Coordinator(run_dir)  # claims, retries, who writes what: pipeline/scale
        self.store = self.coord.store
        self.progress = progress
        self.stats = RunStats()

    # -- features ---------------------------------------------------------------------------
    def _features(self, ckpt: Checkpoint, tasks: dict[str, TaskPlan]) -> dict[str, np.ndarray]:
        """Cached features for each task; the model is loaded only if some are missing."""
        keys = self.feature_keys(ckpt, tasks)
        out = {t: self.store.read_arrays(FEATURES, k)["features"] for t, k in keys.items()
               if self.store.is_done(FEATURES, k)}
        self.stats.reused += len(out)
        missing = [t for t in tasks if t not in out]
        if not missing:
            return out
        model, tokenizer = load_backbone(ckpt, device=inference_device())
        for t in missing:
            started = time.time()
            plan = tasks[t]
            texts = [plan.data.texts[i] for i in plan.pool]
            feats = extract_features(model, tokenizer, texts, self.exp.pooling, self.exp.max_tokens,
                                     self.exp.batch_size, desc=f"features {ckpt.revision} {t}",
                                     progress=self.progress)
            if not np.isfinite(feats).all():
                raise FloatingPointError(f"non-finite features from {ckpt.label}")
            self.store.write_unit(FEATURES, keys[t], {
                "checkpoint": ckpt.identity(), "suite": ckpt.suite, "step": ckpt.step, "task": t,
                "n_examples": len(texts), "dim": int(feats.shape[1]), "seconds": time.time() - started,
            }, {"features": feats})
            self.stats.computed += 1
            out[t] = feats
        del model
        return out

    def feature_keys(self, ckpt: Checkpoint, tasks: dict[str, TaskPlan]) -> dict[str, str]:
        return {t: features_key(ckpt, self.task_specs[t], p, self.exp) for t, p in tasks.items()}

    # -- weak -------------------------------------------------------------------------------
    def _mode_fields(self, ckpt: Checkpoint, mode: str) -> dict:
        """What decides a fine-tuned unit's numbers beyond its inputs; nothing extra for probe."""
        if mode == "probe":
            return {}
        from .strong.finetune import training_precision
        from .strong.model import count_parameters

        fields = {"finetune": finetune_settings(self.exp.finetune, mode, count_parameters(ckpt.local_path)),
                  "precision": training_precision()}
        if mode == "lora":
            fields["lora"] = self.exp.lora.model_dump()
        return fields

    def weak_unit_keys(self, weak: Checkpoint, tasks: dict[str, TaskPlan]) -> dict[tuple[str, int], str]:
        if weak.suite == BOW_WEAK:
            inputs = {t: stable_hash({"bow": weak.identity(), "task": [self.task_specs[t].id, p.data.digest],
                                      "pool": stable_hash(p.pool.tolist())}) for t, p in tasks.items()}
            extra = {"weak": BOW_WEAK}
        else:
            inputs, extra = self.feature_keys(weak, tasks), self._mode_fields(weak, self.exp.weak_mode)
        return {(t, s): weak_key(inputs[t], tasks[t].split_keys[s], self.exp, extra)
                for t in tasks for s in self.exp.seeds}

    def _trained_weak_units(self, weak: Checkpoint, tasks: dict[str, TaskPlan]) -> dict[tuple[str, int], dict]:
        """The weak supervisor fine-tuned (weak_mode lora/full) or the bag-of-words baseline."""
        from .strong.finetune import fine_tune
        from .weak.bow import bow_features

        wanted = self.weak_unit_keys(weak, tasks)
        for (t, s), key in wanted.items():
            if self.store.is_done(WEAK, key):
                self.stats.reused += 1
                continue
            plan, started = tasks[t], time.time()
            split, labels = plan.splits[s], plan.labels
            all_texts = plan.data.texts
            texts = [all_texts[i] for i in plan.pool]
            if weak.suite == BOW_WEAK:
                result = train_weak_supervisor(bow_features(texts, self.exp.bow_buckets), labels, split,
                                               self.exp.head.l2, self.exp.head.max_iter)
            else:
                mode = self.exp.weak_mode
                settings = self._mode_fields(weak, mode)["finetune"]
                proba, _ = fine_tune(weak, mode, self.exp.pooling, self.exp.lora,
                                     {**settings, "seed": settings["seed"] + s}, self.exp.max_tokens,
                                     [texts[i] for i in split["weak_train"]], labels[split["weak_train"]],
                                     make_loss("xent"),
                                     {k: [texts[i] for i in split[k]] for k in ("strong_train", "test")},
                                     self.progress, f"weak {mode} {t} seed {s}")
                result = WeakLabels(proba["strong_train"], proba["test"],
                                    accuracy(proba["test"], labels[split["test"]]))
            self.store.write_unit(WEAK, key, {
                "checkpoint": weak.identity(), "suite": weak.suite, "task": t, "seed": s,
                "mode": "bow" if weak.suite == BOW_WEAK else self.exp.weak_mode,
                "acc_weak": result.acc_weak, "n_test": int(len(split["test"])), "seconds": time.time() - started,
            }, {"weak_soft_labels": result.weak_soft_labels, "test_proba": result.test_proba,
                "test_index": plan.pool[split["test"]]})
            self.stats.computed += 1
        return {ts: {**self.store.read_record(WEAK, k), **self.store.read_arrays(WEAK, k)}
                for ts, k in wanted.items()}

    def _weak_units(self, weak: Checkpoint, tasks: dict[str, TaskPlan]) -> dict[tuple[str, int], dict]:
        if weak.suite == BOW_WEAK or self.exp.weak_mode != "probe":
            return self._trained_weak_units(weak, tasks)
        fkeys = self.feature_keys(weak, tasks)
        wanted = {(t, s): weak_key(fkeys[t], tasks[t].split_keys[s], self.exp)
                  for t in tasks for s in self.exp.seeds}
        if all(self.store.is_done(WEAK, k) for k in wanted.values()):
            self.stats.reused += len(wanted)
        else:
            feats = self._features(weak, tasks)
            for (t, s), key in wanted.items():
                if self.store.is_done(WEAK, key):
                    self.stats.reused += 1
                    continue
                plan = tasks[t]
                labels = plan.labels
                result = train_weak_supervisor(feats[t], labels, plan.splits[s], self.exp.head.l2,
                                               self.exp.head.max_iter)
                self.store.write_unit(WEAK, key, {
                    "checkpoint": weak.identity(), "suite": weak.suite, "task": t, "seed": s,
                    "acc_weak": result.acc_weak, "n_test": int(len(plan.splits[s]["test"])),
                }, {"weak_soft_labels": result.weak_soft_labels, "test_proba": result.test_proba,
                    "test_index": plan.pool[plan.splits[s]["test"]]})
                self.stats.computed += 1
        return {ts: {**self.store.read_record(WEAK, k), **self.store.read_arrays(WEAK, k)}
                for ts, k in wanted.items()}

    # -- strong -----------------------------------------------------------------------------
    def _strong_units(self, ckpt: Checkpoint, tasks: dict[str, TaskPlan],
                      weak_units: dict[tuple[str, int], dict]) -> None:
        wanted = [(t, s, loss, key) for (t, s, loss), key in self.head_keys(ckpt, tasks, weak_units).items()]
        todo = [w for w in wanted if not self.store.is_done(HEAD, w[3])]
        self.stats.reused += len(wanted) - len(todo)
        if not todo:
            return
        if self.exp.mode != "probe":
            return self._finetuned_units(ckpt, tasks, weak_units, todo)
        feats = self._features(ckpt, {t: tasks[t] for t in {w[0] for w in todo}})
        for t, s, loss, key in todo:
            plan = tasks[t]
            labels, split = plan.labels, plan.splits[s]
            started = time.time()
            if loss == "ceiling":
                targets = labels[split["strong_train"]]
            else:
                targets = weak_units[(t, s)]["weak_soft_labels"]
            proba = fit_and_predict(feats[t], split["strong_train"], targets, {"test": split["test"]},
                                    self.exp.head.l2, self.exp.head.max_iter,
                                    loss=None if loss == "ceiling" else make_loss(loss, self.exp.loss_options),
                                    iterative=self.exp.iterative_head)["test"]
            self.store.write_unit(HEAD, key, {
                "checkpoint": ckpt.identity(), "suite": ckpt.suite, "step": ckpt.step, "task": t, "seed": s,
                "loss": loss, "role": "ceiling" if loss == "ceiling" else "w2s",
                "weak_key": None if loss == "ceiling" else weak_units[(t, s)]["key"],
                "accuracy": accuracy(proba, labels[split["test"]]), "n_test": int(len(split["test"])),
                "seconds": time.time() - started,
            }, {"test_proba": proba})
            self.stats.computed += 1

    def _finetuned_units(self, ckpt: Checkpoint, tasks: dict[str, TaskPlan],
                         weak_units: dict[tuple[str, int], dict], todo: list) -> None:
        """lora/full: every (task, seed, loss|ceiling) unit trains a fresh copy of the checkpoint."""
        from .strong.finetune import fine_tune

        settings = self._mode_fields(ckpt, self.exp.mode)["finetune"]
        for t, s, loss, key in todo:
            plan, started = tasks[t], time.time()
            labels, split = plan.labels, plan.splits[s]
            all_texts = plan.data.texts
            texts = [all_texts[i] for i in plan.pool]
            targets = labels[split["strong_train"]] if loss == "ceiling" else weak_units[(t, s)]["weak_soft_labels"]
            proba, info = fine_tune(ckpt, self.exp.mode, self.exp.pooling, self.exp.lora,
                                    {**settings, "seed": settings["seed"] + s}, self.exp.max_tokens,
                                    [texts[i] for i in split["strong_train"]], targets,
                                    make_loss("xent" if loss == "ceiling" else loss, self.exp.loss_options),
                                    {"test": [texts[i] for i in split["test"]]}, self.progress,
                                    f"{self.exp.mode} {ckpt.revision} {t} seed {s} {loss}")
            self.store.write_unit(HEAD, key, {
                "checkpoint": ckpt.identity(), "suite": ckpt.suite, "step": ckpt.step, "task": t, "seed": s,
                "loss": loss, "role": "ceiling" if loss == "ceiling" else "w2s",
                "weak_key": None if loss == "ceiling" else weak_units[(t, s)]["key"],
                "accuracy": accuracy(proba["test"], labels[split["test"]]), "n_test": int(len(split["test"])),
                "seconds": time.time() - started, "mode": self.exp.mode, **info,
            }, {"test_proba": proba["test"]})
            self.stats.computed += 1

    def has_work(self, ckpt: Checkpoint, tasks: dict[str, TaskPlan], weak_units: dict) -> bool:
        return not all(self.store.is_done(HEAD, k) for k in self.head_keys(ckpt, tasks, weak_units).values())

    def head_keys(self, ckpt: Checkpoint, tasks: dict[str, TaskPlan],
                  weak_units: dict[tuple[str, int], dict]) -> dict[tuple[str, int, str], str]:
        fkeys = self.feature_keys(ckpt, tasks)
        extra = self._mode_fields(ckpt, self.exp.mode)
        out = {}
        for t in tasks:
            for s in self.exp.seeds:
                sk = tasks[t].split_keys[s]
                out[(t, s, "ceiling")] = head_key(fkeys[t], sk, "ground_truth", "xent", self.exp, extra)
                for loss in self.exp.losses:
                    out[(t, s, loss)] = head_key(fkeys[t], sk, weak_units[(t, s)]["key"], loss, self.exp, extra)
        return out

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> "RunOutcome":
        from .report.table import build_table, write_table
        from .report.plot import plot_pgr_vs_step

        exp = self.exp
        started = time.time()
        strong = suite_checkpoints(exp.suite, self.suites, self.progress, run_dir=self.store.root)
        from .checkpoints.selection import select_checkpoints

        strong = select_checkpoints(strong, exp.select)
        weak_ref = exp.weak or self.suites[exp.suite].weak
        weak = bow_checkpoint(exp) if weak_ref == BOW_WEAK else \
            resolve(weak_checkpoint(weak_ref, self.suites, self.progress, run_dir=self.store.root))
        tasks = {t: plan_task(self.task_specs[t], exp) for t in exp.tasks}
        self.coord.write_manifest(lambda: self._write_manifest(strong, weak, tasks))

        phases = {"plan": time.time() - started}
        weak_units = self._weak_or_stop(weak, tasks)
        phases["weak"] = time.time() - started - sum(phases.values())
        outcomes: dict[str, str] = {}
        resolved: list[Checkpoint] = []
        twins = DuplicateWeights(model_fingerprint)  # byte-identical branches share the first one's results
        prefetch = Prefetcher(needs_work=lambda c: self.has_work(c, tasks, weak_units))
        bar = tqdm(self.coord.checkpoints(strong), total=len(strong), desc="checkpoints", unit="ckpt",
                   disable=not self.progress, dynamic_ncols=True)
        try:
            for position, ckpt in enumerate(bar):
                bar.set_postfix_str(ckpt.revision)
                # the next checkpoint no other worker holds downloads while this one computes
                prefetch.ahead(next((c for c in strong[position + 1:] if self.coord.may_take(c)), None))
                try:
                    self.coord.check_not_given_up(ckpt)  # out of attempts: not even fetched again
                    ckpt = twins.mark(prefetch.take(ckpt))
                    if ckpt.duplicate_of is not None:
                        self.store.record_duplicate(ckpt.suite, ckpt.revision, ckpt.commit_sha,
                                                    ckpt.duplicate_of.identity())
                    resolved.append(ckpt)
                    self.coord.work_on(ckpt, lambda: self._strong_units(ckpt, tasks, weak_units))
                    outcomes[ckpt.revision] = ""
                except KeyboardInterrupt:
                    raise
                except GaveUp as exc:  # failed before and not retried now: no new attempt to count
                    self.stats.failed += 1
                    self.stats.failures.append(f"{ckpt.label}: {exc.reason}")
                    outcomes[ckpt.revision] = exc.reason
                    if ckpt not in resolved:
                        resolved.append(ckpt)
                except Exception as exc:  # one bad checkpoint must not stop the study
                    reason = one_line(exc)
                    self.store.record_failure("checkpoint", stable_hash(ckpt.identity()), {
                        "suite": ckpt.suite, "revision": ckpt.revision, "step": ckpt.step,
                        "error": reason, "traceback": traceback.format_exc()[-4000:]})
                    self.stats.failed += 1
                    self.stats.failures.append(f"{ckpt.label}: {reason}")
                    outcomes[ckpt.revision] = reason
                    if ckpt not in resolved:
                        resolved.append(ckpt)
        finally:
            bar.close()
            prefetch.close()

        self.coord.update_manifest(lambda: self._pin_manifest_commits(resolved))
        phases["checkpoints"] = time.time() - started - sum(phases.values())
        rows = []
        for ckpt in resolved:
            keys = self.head_keys(ckpt, tasks, weak_units) if not outcomes.get(ckpt.revision) else {}
            rows.append((ckpt, keys, outcomes.get(ckpt.revision, "")))
        table = build_table(rows, tasks, weak, weak_units, exp, self.store)
        if not self.coord.writes_outputs():  # a pass that left work to others, or not the last worker
            phases["report"] = time.time() - started - sum(phases.values())
            return RunOutcome(table, self.stats, [self.store.output_path("pgr_vs_step.csv")],
                              time.time() - started, weak, weak_units, phases)
        paths = write_table(table, self.store)
        paths.append(plot_pgr_vs_step(table, self.store.output_path("pgr_vs_step.png"),
                                      title=f"{self.name}: {exp.suite} (weak: {weak.label})"))
        phases["report"] = time.time() - started - sum(phases.values())
        return RunOutcome(table, self.stats, paths, time.time() - started, weak, weak_units, phases)

    def _weak_or_stop(self, weak: Checkpoint, tasks: dict[str, TaskPlan]) -> dict[tuple[str, int], dict]:
        """Every checkpoint needs the weak supervisor, so its failure ends the run: as one line
        naming it (a corrupt or unloadable weak checkpoint), with the traceback kept in the store."""
        try:
            return self.coord.weak_units(lambda: self._weak_units(weak, tasks), weak, tasks)
        except (UserError, KeyboardInterrupt):
            raise
        except Exception as exc:
            reason = one_line(exc)
            key = stable_hash({"weak": weak.identity()})
            self.store.record_failure("weak", key, {"suite": weak.suite, "revision": weak.revision,
                                                    "error": reason, "traceback": traceback.format_exc()[-4000:]})
            raise UserError(f"weak supervisor {weak.label} ({weak.local_path or weak.repo}) failed: {reason} "
                            f"(traceback: {self.store.failure_path('weak', key)})") from None

    def _pin_manifest_commits(self, resolved: list[Checkpoint]) -> None:
        """The commits the revisions resolved to, for those the manifest could not pin up front
        (offline, no listing): it records what was computed, not only what was asked for."""
        manifest = self.store.read_manifest()
        commits = {c.revision: c.commit_sha for c in resolved if c.commit_sha}
        entries = (manifest or {}).get("checkpoints", [])
        if all(commits.get(e.get("revision"), e.get("commit_sha")) == e.get("commit_sha") for e in entries):
            return
        for e in entries:
            e["commit_sha"] = commits.get(e.get("revision"), e.get("commit_sha"))
        self.store.write_manifest(manifest)

    def _write_manifest(self, strong: list[Checkpoint], weak: Checkpoint, tasks: dict[str, TaskPlan]) -> None:
        previous = self.store.read_manifest() or {}
        pinned = {c.get("revision"): c.get("commit_sha") for c in previous.get("checkpoints", [])}
        downloads = data_dir() / "downloads"
        self.store.write_manifest({
            "run": self.name, "pipeline_version": __version__, "git_commit": git_commit(),
            "created": previous.get("created") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "invocations": previous.get("invocations", 0) + 1,
            "command": sys.argv, "python": platform.python_version(), "platform": platform.platform(),
            "versions": numeric_versions(),
            "experiment": self.exp.model_dump(),
            "suites": {n: self.suites[n].model_dump() for n in {self.exp.suite, weak.suite} if n in self.suites},
            "tasks": {t: {**self.task_specs[t].model_dump(), "examples_sha256": p.data.digest,
                          "n_examples": len(p.data.examples), "n_used": int(len(p.pool)),
                          "split_sizes": {s: {k: int(len(v)) for k, v in sp.items()} for s, sp in p.splits.items()}}
                      for t, p in tasks.items()},
            "data": {p.filename: p.sha256 for p in PACKAGES.values() if (downloads / p.filename).exists()},
            "weak_checkpoint": {**weak.identity(), "suite": weak.suite, "step": weak.step},
            "checkpoints": [{**c.identity(), "commit_sha": c.commit_sha or pinned.get(c.revision),
                             "step": c.step, "tokens": c.tokens} for c in strong],
        })


@dataclass
class RunOutcome:
    table: "object"
    stats: RunStats
    paths: list[Path]
    seconds: float
    weak: Checkpoint
    weak_units: dict
    phases: dict[str, float] = field(default_factory=dict)  # seconds: plan, weak, checkpoints, report

    def summary_text(self) -> str:
        s = self.stats
        done = self.table[self.table.status == "done"]
        lines = [f"run finished in {self.seconds:.0f}s: {s.computed} units computed, {s.reused} reused, "
                 f"{s.failed} checkpoint(s) failed; table {self.paths[0]}"]
        for f in s.failures:
            lines.append(f"  failed {f}")
        for (task, loss), part in done.groupby(["task", "loss"]):
            final = part[part.step == part.step.max()]
            name = task if done.loss.nunique() == 1 else f"{task} [{loss}]"
            # a flagged seed's PGR divides by a gap that is not there: the table keeps it, the mean does not
            usable = final[(final.pgr_flag.fillna("") == "") & np.isfinite(final.pgr.astype(float))]
            pgr_text = f"{usable.pgr.mean():.2f}" if len(usable) else "undefined"
            flagged = len(final) - len(usable)
            lines.append(f"  {name}: acc_weak {final.acc_weak.mean():.3f}, final ceiling "
                         f"{final.acc_ceiling.mean():.3f}, final w2s {final.acc_w2s.mean():.3f}, "
                         f"final PGR {pgr_text} (mean of {len(usable)} of {len(final)} seed(s)"
                         + (f"; {flagged} flagged, see pgr_flag)" if flagged else ")"))
            if final.acc_ceiling.mean() <= final.acc_weak.mean():
                lines.append(f"  warning: {name}: the weak supervisor is not below the final ceiling; PGR is not meaningful")
        return "\n".join(lines)
