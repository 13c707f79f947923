"""How close the per-checkpoint work comes to the bare model cost (a benchmark, not a test).

    python scripts/bench.py                  # default experiment's suite, this machine, a few minutes
    python scripts/bench.py --skip lora,full --counts 1,4,16 --examples 800

Prints one JSON line per figure (`{"figure": ..., ...}`) and a short summary at the end.
Figures, each measured in this one process:
  matmul      this machine's measured matmul rate (fp32 on CPU, bf16 on a GPU): the MFU yardstick
  probe       per checkpoint: load + features + every head, over a bare no_grad forward of the
              same examples in the same batch shapes (target <= 1.3)
  lora, full  examples/s and tokens/s of training, over a bare forward+backward of the same
              batches (target <= 1.3), and model FLOP utilisation against `matmul`
  scaling     whole runs over 1, 4 and 16 checkpoints: fitted per-checkpoint cost and intercept
              (the weak supervisor must sit in the intercept, once)
  padding     padded fraction of the tokens per batch, with and without length grouping
The suite is built first if it is not (about 5 minutes for local-neox on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from pipeline.checkpoints.loading import load_backbone, resolve  # noqa: E402
from pipeline.checkpoints.suites import suite_checkpoints, weak_checkpoint  # noqa: E402
from pipeline.config import Experiment, _validate, finetune_settings, load_experiments, load_suites, load_tasks  # noqa: E402
from pipeline.runner import Runner, plan_task  # noqa: E402
from pipeline.strong import features as F  # noqa: E402
from pipeline.strong.finetune import LengthGroupedBatches, train_and_predict, training_precision, weights_dtype  # noqa: E402
from pipeline.strong.losses import make_loss  # noqa: E402
from pipeline.strong.model import count_parameters, load_classifier, pad_id_of  # noqa: E402

FIGURES: list[dict] = []


def emit(figure: str, **values) -> dict:
    row = {"figure": figure, **values}
    FIGURES.append(row)
    print(json.dumps(row), flush=True)
    return row


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def matmul_rate(seconds: float = 2.0) -> float:
    """FLOP/s of a large square matmul: fp32 on CPU, bf16 on a GPU (its tensor-core peak)."""
    dev = device()
    n, dtype = (8192, torch.bfloat16) if dev.type == "cuda" else (1024, torch.float32)
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    a @ b
    sync()
    reps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        reps += 1
        if dev.type == "cuda" and reps % 10:
            continue
        sync()
    sync()
    rate = 2 * n ** 3 * reps / (time.perf_counter() - started)
    emit("matmul", device=dev.type, dtype=str(dtype).replace("torch.", ""), n=n, gflops=round(rate / 1e9, 1),
         threads=torch.get_num_threads())
    return rate


def nonembedding_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "embed" not in n and p.dim() > 1)


def forward_flops(n_params: int, n_layers: int, width: int, seq_lens: list[int]) -> float:
    """Dense matmuls (2 N per token) plus attention scores and values (4 n_layers width L^2)."""
    return float(sum(2 * n_params * L + 4 * n_layers * width * L * L for L in seq_lens))


# -- probe ----------------------------------------------------------------------------------
def bare_forward(ckpt, tasks: dict, exp: Experiment):
    """A callable timing a bare no_grad forward over the pipeline's examples in the pipeline's
    batch shapes, with the model loaded and every batch padded beforehand."""
    model, tokenizer = load_backbone(ckpt, device=device())
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    padded = []
    for plan in tasks.values():
        ids = F.tokenize(tokenizer, [plan.data.texts[i] for i in plan.pool], exp.max_tokens)
        for idx in F.batches_by_length([len(t) for t in ids], exp.batch_size):
            ids_b, mask_b = F.pad_batch([ids[i] for i in idx], pad)
            padded.append((ids_b.to(device()), mask_b.to(device())))

    def timed() -> float:
        with torch.no_grad():
            sync()
            started = time.perf_counter()
            for ids_b, mask_b in padded:
                F.forward_hidden(model, ids_b, mask_b)
            sync()
        return time.perf_counter() - started

    with torch.no_grad():
        F.forward_hidden(model, *padded[0])  # allocator and kernels warm
    return timed, len(padded)


def pipeline_once(name, exp, suites, task_specs, ckpt, tasks, weak_units, run_dir: Path) -> dict:
    """One checkpoint's probe work as a run does it (load, tokenize, features, every head, the
    store's writes), in a fresh run directory so nothing is reused."""
    from pipeline.runner import FEATURES, HEAD

    shutil.rmtree(run_dir, ignore_errors=True)
    runner = Runner(name, exp, suites, task_specs, run_dir, progress=False)
    sync()
    started = time.perf_counter()
    runner._strong_units(ckpt, tasks, weak_units)
    sync()
    total = time.perf_counter() - started
    store = runner.store
    features = sum(store.read_record(FEATURES, k)["seconds"] for k in runner.feature_keys(ckpt, tasks).values())
    heads = sum(store.read_record(HEAD, k)["seconds"] for k in runner.head_keys(ckpt, tasks, weak_units).values())
    return {"total": total, "features": features, "heads": heads,
            "n_heads": len(runner.head_keys(ckpt, tasks, weak_units))}


def bench_probe(name, exp, suites, task_specs, checkpoints: list, tasks: dict, weak_units: dict, repeats: int,
                work: Path) -> dict:
    """Pipeline and bare forward alternate, `repeats` times each, and medians are compared: this
    machine's speed drifts by 10-20 % over minutes, which must not land on one side only."""
    ratios = []
    for ckpt in checkpoints:
        ckpt = resolve(ckpt)
        bare, n_batches = bare_forward(ckpt, tasks, exp)
        runs, bares = [], []
        for r in range(repeats):
            bares.append(bare())
            runs.append(pipeline_once(name, exp, suites, task_specs, ckpt, tasks, weak_units, work / f"probe-{r}"))
        total = float(np.median([r["total"] for r in runs]))
        bare_s = float(np.median(bares))
        ratios.append(total / bare_s)
        emit("probe", checkpoint=ckpt.label, examples=sum(len(p.pool) for p in tasks.values()), batches=n_batches,
             heads=runs[0]["n_heads"], repeats=repeats, pipeline_s=round(total, 3), bare_forward_s=round(bare_s, 3),
             features_s=round(float(np.median([r["features"] for r in runs])), 3),
             heads_s=round(float(np.median([r["heads"] for r in runs])), 3),
             ratio=round(total / bare_s, 3), target=1.3)
    return emit("probe_summary", checkpoints=len(ratios), median_ratio=round(float(np.median(ratios)), 3),
                max_ratio=round(float(np.max(ratios)), 3))


# -- lora / full ------------------------------------------------------------------------------
def bench_finetune(mode: str, ckpt, task_plan, exp: Experiment, n_train: int, rate: float, repeats: int) -> dict:
    """One epoch of the pipeline's training loop (accelerate, AdamW, clipping, schedule) against
    forward + loss + backward alone over the same batches in the same order, alternating."""
    ckpt = resolve(ckpt)
    settings = finetune_settings(exp.finetune, mode, count_parameters(ckpt.local_path))
    settings = {**settings, "epochs": 1, "grad_accum": 1}
    split = next(iter(task_plan.splits.values()))
    index = task_plan.pool[split["strong_train"][:n_train]]
    texts = [task_plan.data.texts[i] for i in index]
    targets = task_plan.data.labels[index].astype(np.float32)

    def fresh():
        return load_classifier(ckpt, mode, exp.pooling, exp.lora, settings["gradient_checkpointing"],
                               dtype=weights_dtype(mode))

    def pipeline() -> tuple[float, float]:
        """(the training loop's seconds, the whole call's): setup is the difference."""
        model, tokenizer = fresh()
        sync()
        started = time.perf_counter()
        _, info = train_and_predict(model, tokenizer, texts, targets, make_loss("xent"), settings, exp.max_tokens, {})
        sync()
        return info["loop_seconds"], time.perf_counter() - started

    model, tokenizer = fresh()
    model.to(device())
    ids = F.tokenize(tokenizer, texts, exp.max_tokens)
    batches = []
    for idx in LengthGroupedBatches([len(t) for t in ids], settings["batch_size"], settings["seed"]):
        ids_b, mask_b = F.pad_batch([ids[i] or [pad_id_of(tokenizer)] for i in idx], pad_id_of(tokenizer))
        batches.append((ids_b.to(device()), mask_b.to(device()), torch.from_numpy(targets[idx]).to(device())))
    bf16 = training_precision() == "bf16"  # autocast as accelerate does it

    def bare() -> float:
        sync()
        started = time.perf_counter()
        for ids_b, mask_b, y in batches:
            with torch.autocast(device().type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(ids_b, mask_b)
            torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y).backward()
            model.zero_grad(set_to_none=True)
        sync()
        return time.perf_counter() - started

    bare()  # warm
    loops, calls, bares = [], [], []
    for _ in range(repeats):
        bares.append(bare())
        loop_s, call_s = pipeline()
        loops.append(loop_s)
        calls.append(call_s)
    pipeline_s, bare_s = float(np.median(loops)), float(np.median(bares))
    setup_s = float(np.median(np.subtract(calls, loops)))

    real = sum(int(m.sum()) for _, m, _ in batches)
    padded_tokens = sum(m.numel() for _, m, _ in batches)
    cfg = model.backbone.config
    seq = [int(m.shape[1]) for _, m, _ in batches for _ in range(m.shape[0])]
    fwd = forward_flops(nonembedding_params(model.backbone), cfg.num_hidden_layers, cfg.hidden_size, seq)
    train_flops = fwd * (3 if mode == "full" else 2)  # LoRA: no gradients for the frozen weights
    return emit(mode, checkpoint=ckpt.label, examples=len(texts), batch_size=settings["batch_size"],
                steps=len(batches), precision=training_precision(), repeats=repeats, tokens=real,
                padded_tokens=padded_tokens, examples_per_s=round(len(texts) / pipeline_s, 2),
                tokens_per_s=round(real / pipeline_s, 1), pipeline_s=round(pipeline_s, 3), setup_s=round(setup_s, 3),
                bare_fwd_bwd_s=round(bare_s, 3), ratio=round(pipeline_s / bare_s, 3), target=1.3,
                model_tflops=round(train_flops / 1e12, 4), mfu=round(train_flops / pipeline_s / rate, 4),
                bare_mfu=round(train_flops / bare_s / rate, 4))


# -- scaling ----------------------------------------------------------------------------------
def bench_scaling(name: str, exp: Experiment, suites, task_specs, revisions: list[str], counts: list[int],
                  work: Path) -> dict:
    """Whole runs in fresh run directories (weak supervisor, every checkpoint, table and plot),
    fitted as total = intercept + per_checkpoint x n; the run's own phase clock shows where the
    weak supervisor's time went. A first, uncounted run pays this process's one-time imports."""

    def one_run(n: int, tag: str):
        chosen = [revisions[round(i)] for i in np.linspace(len(revisions) - 1, 0, n)] if n > 1 else [revisions[-1]]
        run_exp = _validate(Experiment, {**exp.model_dump(), "select": "revisions:" + ",".join(chosen)},
                            Path("bench"))
        run_dir = work / f"scaling-{tag}"
        shutil.rmtree(run_dir, ignore_errors=True)
        started = time.perf_counter()
        outcome = Runner(name, run_exp, suites, task_specs, run_dir, progress=False).run()
        return time.perf_counter() - started, outcome

    one_run(1, "warm-up")
    totals, loops, weak = [], [], []
    for n in counts:
        total, outcome = one_run(n, str(n))
        totals.append(total)
        loops.append(outcome.phases["checkpoints"])
        weak.append(outcome.phases["weak"])
        emit("scaling_run", checkpoints=n, total_s=round(total, 3), units=outcome.stats.computed,
             **{f"{k}_s": round(v, 3) for k, v in outcome.phases.items()})
    x = np.asarray(counts, float)
    slope, intercept = np.polyfit(x, np.asarray(totals), 1)
    loop_slope, loop_intercept = np.polyfit(x, np.asarray(loops), 1)
    resid = float(np.max(np.abs(intercept + slope * x - totals) / np.asarray(totals)))
    return emit("scaling", counts=counts, totals_s=[round(t, 3) for t in totals],
                per_checkpoint_s=round(float(slope), 3), intercept_s=round(float(intercept), 3),
                max_relative_residual=round(resid, 4), weak_phase_s=[round(w, 3) for w in weak],
                loop_per_checkpoint_s=round(float(loop_slope), 3), loop_intercept_s=round(float(loop_intercept), 3))


def weak_cost(runner: Runner, weak, tasks: dict) -> float:
    started = time.perf_counter()
    runner._weak_units(weak, tasks)
    return time.perf_counter() - started


# -- padding ----------------------------------------------------------------------------------
def padding_fraction(lengths: list[int], batches: list) -> float:
    real = sum(lengths[i] for b in batches for i in b)
    total = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1.0 - real / total


def bench_padding(tokenizer, tasks: dict, exp: Experiment, train_batch: int) -> dict:
    lengths = []
    for plan in tasks.values():
        lengths += [len(t) for t in F.tokenize(tokenizer, [plan.data.texts[i] for i in plan.pool], exp.max_tokens)]
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(lengths))
    plain = lambda b: [shuffled[i:i + b] for i in range(0, len(shuffled), b)]  # noqa: E731
    return emit("padding", examples=len(lengths), mean_tokens=round(float(np.mean(lengths)), 1),
                features_grouped=round(padding_fraction(lengths, F.batches_by_length(lengths, exp.batch_size)), 4),
                features_plain=round(padding_fraction(lengths, plain(exp.batch_size)), 4),
                train_grouped=round(padding_fraction(lengths, list(LengthGroupedBatches(lengths, train_batch, 0))), 4),
                train_plain=round(padding_fraction(lengths, plain(train_batch)), 4))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="default")
    ap.add_argument("--examples", type=int, default=800, help="max_examples_per_task (0: the experiment's)")
    ap.add_argument("--probe-checkpoints", type=int, default=2, help="checkpoints timed for the probe ratio")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats of each probe/lora/full timing")
    ap.add_argument("--train-examples", type=int, default=160, help="training examples for lora/full")
    ap.add_argument("--counts", default="1,4,16", help="checkpoint counts of the scaling runs")
    ap.add_argument("--skip", default="", help="comma list of probe,lora,full,scaling,padding to leave out")
    ap.add_argument("--work-dir", help="where the throwaway run directories go (default: a temp dir)")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    counts = [int(c) for c in args.counts.split(",")]

    suites, task_specs = load_suites(ROOT / "checkpoints.yaml"), load_tasks(ROOT / "tasks")
    exp = load_experiments(ROOT / "experiments.yaml")[args.experiment]
    if args.examples > 0:
        exp = _validate(Experiment, {**exp.model_dump(), "max_examples_per_task": args.examples}, Path("--examples"))
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="w2s-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    emit("machine", cpus=os.cpu_count(), torch=torch.__version__, device=str(device()),
         gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
         date=time.strftime("%Y-%m-%d"), experiment=args.experiment, suite=exp.suite,
         examples_per_task=exp.max_examples_per_task)
    try:
        strong = suite_checkpoints(exp.suite, suites, progress=True)
        weak = resolve(weak_checkpoint(exp.weak or suites[exp.suite].weak, suites, progress=True))
        tasks = {t: plan_task(task_specs[t], exp) for t in exp.tasks}
        rate = matmul_rate()
        weak_cost(Runner(args.experiment, exp, suites, task_specs, work / "warm-up", progress=False), weak, tasks)
        runner = Runner(args.experiment, exp, suites, task_specs, work / "weak", progress=False)
        weak_s = weak_cost(runner, weak, tasks)
        emit("weak_supervisor", checkpoint=weak.label, seconds=round(weak_s, 3))
        weak_units = runner._weak_units(weak, tasks)
        if "probe" not in skip:
            bench_probe(args.experiment, exp, suites, task_specs, strong[-args.probe_checkpoints:], tasks,
                        weak_units, args.repeats, work)
        final = strong[-1]
        for mode in ("lora", "full"):
            if mode not in skip:
                bench_finetune(mode, final, next(iter(tasks.values())), exp, args.train_examples, rate, args.repeats)
        if "padding" not in skip:
            _, tokenizer = load_backbone(resolve(final))
            bench_padding(tokenizer, tasks, exp, finetune_settings(
                exp.finetune, "full", count_parameters(resolve(final).local_path))["batch_size"])
        if "scaling" not in skip:
            bench_scaling(args.experiment, exp, suites, task_specs, [c.revision for c in strong], counts, work)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    summary(FIGURES)
    return 0


def summary(rows: list[dict]) -> None:
    by = {}
    for r in rows:
        by.setdefault(r["figure"], []).append(r)
    print("\nsummary")
    if "probe_summary" in by:
        p = by["probe_summary"][0]
        print(f"  probe: pipeline / bare forward = {p['median_ratio']} (median of {p['checkpoints']} checkpoints; "
              f"target <= 1.3)")
    for mode in ("lora", "full"):
        if mode in by:
            m = by[mode][0]
            print(f"  {mode}: {m['examples_per_s']} ex/s, {m['tokens_per_s']} tok/s, pipeline / bare fwd+bwd = "
                  f"{m['ratio']}, MFU {100 * m['mfu']:.1f}% (bare {100 * m['bare_mfu']:.1f}%)")
    if "scaling" in by:
        s = by["scaling"][0]
        weak = by.get("weak_supervisor", [{}])[0].get("seconds")
        print(f"  scaling: total = {s['intercept_s']} s + {s['per_checkpoint_s']} s x checkpoints "
              f"(max residual {100 * s['max_relative_residual']:.1f}%); weak supervisor {weak} s alone, "
              f"{'/'.join(str(round(w, 1)) for w in s['weak_phase_s'])} s in the runs; checkpoint loop "
              f"{s['loop_intercept_s']} s + {s['loop_per_checkpoint_s']} s x checkpoints")
    if "padding" in by:
        p = by["padding"][0]
        print(f"  padding: features {100 * p['features_grouped']:.1f}% grouped vs {100 * p['features_plain']:.1f}% "
              f"plain; training {100 * p['train_grouped']:.1f}% grouped vs {100 * p['train_plain']:.1f}% plain")
    if "matmul" in by:
        print(f"  matmul: {by['matmul'][0]['gflops']} GFLOP/s ({by['matmul'][0]['dtype']})")
    drifted = any(r.get("mfu", 0) > 1 for r in rows) or any(r.get("max_relative_residual", 0) > 0.25 for r in rows)
    if drifted:
        print("  note: an MFU above 100 % or a scaling fit this far off means the machine's speed changed during "
              "the bench (other jobs on its cores): rerun it on an idle machine")


if __name__ == "__main__":
    sys.exit(main())
