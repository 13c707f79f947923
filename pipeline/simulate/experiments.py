"""The four experiments, each a pure function of a config and a seed returning tidy tables and a summary.

Every random stream is spawned from the seed (numpy SeedSequence), so a run is reproducible and
changing one block's size does not reshuffle the others.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .data import make_spiked_gaussian, random_sphere
from .errors import oracle_pgr, pgr, population_mse
from .hermite import HermiteLink
from .spectral import bbp_overlap_sq, bbp_threshold_samples, pick_sign, spectral_directions
from .student import log_spaced_steps, train_spherical_sgd
from .weak import TrueLabels, WeakSupervisor

def learning_rate(eta: float, d: int, link: HermiteLink) -> float:
    """Step size eta / (d E[sigma'^2]): one dimensionless eta gives comparable SGD noise for every link."""
    return eta / (d * link.derivative_second_moment)


def _check_positive(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        values = value if isinstance(value, tuple) else (value,)
        if any(v <= 0 for v in values):
            raise ValueError(f"{name} must be > 0, got {value}")


@dataclass(frozen=True)
class ExperimentOutput:
    tables: dict[str, pd.DataFrame]
    summary: dict


# ---------------------------------------------------------------------------------------------- bbp


@dataclass(frozen=True)
class BBPConfig:
    dims: tuple[int, ...] = (64, 256, 1024)
    runs: tuple[int, ...] = (64, 24, 8)
    betas: tuple[float, ...] = (1.0, 2.0)
    gamma_min: float = 1.0 / 16.0
    gamma_max: float = 16.0
    points: int = 15
    away_factor: float = 2.0  # "away from the threshold": gamma / beta^2 outside [1/f, f]

    @classmethod
    def quick(cls) -> "BBPConfig":
        return cls(dims=(64, 256), runs=(16, 6), points=7)

    def validate(self) -> None:
        _check_positive(self, "dims", "runs", "betas", "gamma_min", "gamma_max", "points")
        if len(self.dims) != len(self.runs):
            raise ValueError("dims and runs must have the same length")
        if self.gamma_min >= self.gamma_max or self.away_factor <= 1:
            raise ValueError("need gamma_min < gamma_max and away_factor > 1")


def run_bbp(config: BBPConfig, seed: int) -> ExperimentOutput:
    config.validate()
    gammas = np.geomspace(config.gamma_min, config.gamma_max, config.points)
    blocks = [(d, runs, beta) for d, runs in zip(config.dims, config.runs) for beta in config.betas]
    rows = []
    for (d, runs, beta), child in zip(blocks, np.random.SeedSequence(seed).spawn(len(blocks))):
        rng = np.random.default_rng(child)
        model = make_spiked_gaussian(rng, d, beta)
        for gamma in gammas:
            n_pre = max(1, int(round(d / gamma)))
            directions = spectral_directions(rng, model, n_pre, runs)
            overlap_sq = (directions @ model.spike) ** 2
            for run, value in enumerate(overlap_sq):
                rows.append(dict(d=d, beta=beta, n_pre=n_pre, gamma=d / n_pre, run=run, overlap_sq=float(value),
                                 closed_form=float(bbp_overlap_sq(d / n_pre, beta))))
    table = pd.DataFrame(rows)
    means = table.groupby(["d", "beta", "n_pre"], as_index=False).agg(
        gamma=("gamma", "first"), overlap_sq=("overlap_sq", "mean"), closed_form=("closed_form", "first"))
    ratio = means["gamma"] / means["beta"] ** 2
    away = (ratio <= 1 / config.away_factor) | (ratio >= config.away_factor)
    means["deviation"] = (means["overlap_sq"] - means["closed_form"]).abs()
    per_d = {}
    for d, group in means[away].groupby("d"):
        per_d[str(d)] = {"max_abs_deviation_away_from_threshold": float(group["deviation"].max()),
                         "mean_abs_deviation_away_from_threshold": float(group["deviation"].mean())}
    summary = {
        "thresholds_n_pre": {f"d={d},beta={beta:g}": bbp_threshold_samples(d, beta) for d, _, beta in blocks},
        "deviation_from_closed_form": per_d,
        "largest_deviation_near_threshold": float(means.loc[~away, "deviation"].max()) if (~away).any() else None,
    }
    return ExperimentOutput(tables={"results": table}, summary=summary)


# ------------------------------------------------------------------------------------------- escape


@dataclass(frozen=True)
class EscapeConfig:
    d: int = 512
    beta: float = 1.0
    spike_angle_deg: float = 0.0  # angle between the covariance spike and w*
    links: tuple[str, ...] = ("he2", "he3")
    runs: int = 12
    steps: int = 4000
    batch: int = 8
    eta: float = 0.9
    pretrain_multiple: float = 8.0  # N_pre in units of the BBP threshold d / beta^2
    misalignment_deg: float = 0.0
    bias_amplitude: float = 0.5
    noise_std: float = 1.0
    n_labelled: int = 256
    record_points: int = 40

    @classmethod
    def quick(cls) -> "EscapeConfig":
        return cls(d=128, runs=4, steps=600, record_points=12)

    def validate(self) -> None:
        _check_positive(self, "d", "runs", "steps", "batch", "eta", "pretrain_multiple", "n_labelled", "record_points")
        for name in self.links:
            HermiteLink.parse(name)


def _weak(config) -> WeakSupervisor:
    return WeakSupervisor(misalignment_deg=config.misalignment_deg, bias_amplitude=config.bias_amplitude,
                          noise_std=config.noise_std)


def run_escape(config: EscapeConfig, seed: int) -> ExperimentOutput:
    config.validate()
    weak = _weak(config)
    true = TrueLabels()
    labels = {"true": true, "weak": weak}
    rows, summary_rows, weak_errors = [], [], {}
    children = np.random.SeedSequence(seed).spawn(len(config.links))
    for name, child in zip(config.links, children):
        rng = np.random.default_rng(child)
        link = HermiteLink.parse(name)
        model = make_spiked_gaussian(rng, config.d, config.beta, config.spike_angle_deg)
        n_pre = int(round(config.pretrain_multiple * bbp_threshold_samples(config.d, config.beta)))
        random_start = random_sphere(rng, (config.runs,), config.d)
        spectral = spectral_directions(rng, model, n_pre, config.runs)
        sources = [("random", "true"), ("random", "weak"), ("spectral", "true"), ("spectral", "weak")]
        starts = []
        for start, label in sources:
            if start == "random":
                starts.append(random_start)
            else:
                starts.append(pick_sign(rng, model, link, spectral, labels[label], config.n_labelled))
        lr = learning_rate(config.eta, config.d, link)
        weak_errors[name] = float(weak.exact_error(model, link, 1)[0])
        trajectory = train_spherical_sgd(
            rng, model, link, np.stack(starts), [labels[label] for _, label in sources], steps=config.steps,
            batch=config.batch, lr=lr, record_steps=log_spaced_steps(config.steps, config.record_points))
        error = population_mse(link, trajectory.correlation)
        for i, step in enumerate(trajectory.steps):
            for s, (start, label) in enumerate(sources):
                for run in range(config.runs):
                    rows.append(dict(link=name, information_exponent=link.information_exponent, start=start, labels=label,
                                     step=int(step), samples=int(step) * config.batch, run=run,
                                     overlap=float(trajectory.overlap[i, s, run]), error=float(error[i, s, run])))
        for s, (start, label) in enumerate(sources):
            median = np.median(np.abs(trajectory.overlap[:, s, :]), axis=1)
            escaped_at = trajectory.steps[np.argmax(median > 0.5)] if np.any(median > 0.5) else None
            summary_rows.append(dict(
                link=name, information_exponent=link.information_exponent, start=start, labels=label, lr=lr, n_pre=n_pre,
                initial_median_overlap=float(median[0]), final_median_overlap=float(median[-1]),
                final_mean_error=float(error[-1, s].mean()),
                escaped_fraction=float(np.mean(np.abs(trajectory.overlap[-1, s]) > 0.5)),
                first_step_median_overlap_above_half=None if escaped_at is None else int(escaped_at)))
    summary = {"random_overlap_scale": 1 / math.sqrt(config.d), "weak_supervisor": weak.describe(),
               "weak_error": weak_errors,
               "curves": summary_rows}
    return ExperimentOutput(tables={"results": pd.DataFrame(rows)}, summary=summary)


# --------------------------------------------------------------------------------------- transition


@dataclass(frozen=True)
class TransitionConfig:
    d: int = 512
    beta: float = 1.0
    spike_angle_deg: float = 0.0  # angle between the covariance spike and w*
    link: str = "he3"
    runs: int = 10
    steps: int = 2400
    batch: int = 8
    eta: float = 0.9
    n_pre_min_multiple: float = 1.0 / 16.0  # grid of N_pre in units of the threshold d / beta^2
    n_pre_max_multiple: float = 64.0
    points: int = 11
    misalignment_deg: float = 0.0
    bias_amplitude: float = 0.5
    noise_std: float = 1.0
    n_labelled: int = 256
    min_gap_fraction: float = 0.1  # PGR only where the ceiling beats the weak error by this fraction
    bootstrap: int = 200

    @classmethod
    def quick(cls) -> "TransitionConfig":
        return cls(d=128, runs=6, steps=400, points=7, bootstrap=50)

    def validate(self) -> None:
        _check_positive(self, "d", "beta", "runs", "steps", "batch", "eta", "n_pre_min_multiple", "n_pre_max_multiple",
                        "points", "n_labelled", "bootstrap")
        if self.n_pre_min_multiple >= self.n_pre_max_multiple:
            raise ValueError("need n_pre_min_multiple < n_pre_max_multiple")
        HermiteLink.parse(self.link)


def _bootstrap_pgr(rng, err_weak, err_w2s, err_ceiling, min_gap, resamples):
    runs = err_w2s.shape[-1]
    picks = rng.integers(0, runs, size=(resamples, runs))
    values = pgr(err_weak, err_w2s[picks].mean(axis=1), err_ceiling[picks].mean(axis=1), min_gap)
    values = values[np.isfinite(values)]
    if len(values) < resamples / 2:
        return float("nan"), float("nan")
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def run_transition(config: TransitionConfig, seed: int) -> ExperimentOutput:
    config.validate()
    setup, init_seed, train_seed, boot_seed = np.random.SeedSequence(seed).spawn(4)
    link = HermiteLink.parse(config.link)
    model = make_spiked_gaussian(np.random.default_rng(setup), config.d, config.beta, config.spike_angle_deg)
    weak = _weak(config)
    threshold = bbp_threshold_samples(config.d, config.beta)
    multiples = np.geomspace(config.n_pre_min_multiple, config.n_pre_max_multiple, config.points)
    n_pres = np.unique(np.maximum(1, np.round(multiples * threshold).astype(int)))
    rng = np.random.default_rng(init_seed)
    starts = []
    for n_pre in n_pres:
        directions = spectral_directions(rng, model, int(n_pre), config.runs)
        # the weak labels are the only labels a weak-to-strong student has; the ceiling shares its start
        starts.append(pick_sign(rng, model, link, directions, weak, config.n_labelled))
    w0 = np.concatenate(starts)
    trajectory = train_spherical_sgd(np.random.default_rng(train_seed), model, link, w0, [weak, TrueLabels()],
                                     steps=config.steps, batch=config.batch, lr=learning_rate(config.eta, config.d, link))
    err_weak = float(weak.exact_error(model, link, 1)[0])
    err_init = population_mse(link, model.sigma_correlation(w0, model.target)).reshape(len(n_pres), config.runs)
    overlap_init = np.abs(w0 @ model.target).reshape(len(n_pres), config.runs)
    final = population_mse(link, trajectory.correlation[-1])
    err_w2s = final[0].reshape(len(n_pres), config.runs)
    err_ceiling = final[1].reshape(len(n_pres), config.runs)
    rows = []
    for i, n_pre in enumerate(n_pres):
        for run in range(config.runs):
            rows.append(dict(n_pre=int(n_pre), n_pre_over_threshold=n_pre / threshold, run=run,
                             initial_overlap=float(overlap_init[i, run]), err_init=float(err_init[i, run]), err_weak=err_weak,
                             err_w2s=float(err_w2s[i, run]), err_ceiling=float(err_ceiling[i, run])))
    table = pd.DataFrame(rows)
    min_gap = config.min_gap_fraction * err_weak
    boot_rng = np.random.default_rng(boot_seed)
    points = []
    for i, n_pre in enumerate(n_pres):
        low, high = _bootstrap_pgr(boot_rng, err_weak, err_w2s[i], err_ceiling[i], min_gap, config.bootstrap)
        points.append(dict(
            n_pre=int(n_pre), n_pre_over_threshold=float(n_pre / threshold),
            # the eigenvector finds the spike; w* sees it through cos(spike angle)
            closed_form_overlap_sq=float(bbp_overlap_sq(config.d / n_pre, config.beta) * math.cos(math.radians(config.spike_angle_deg)) ** 2),
            initial_overlap_sq=float(np.mean(overlap_init[i] ** 2)),
            err_w2s=float(err_w2s[i].mean()), err_ceiling=float(err_ceiling[i].mean()),
            pgr=float(pgr(err_weak, err_w2s[i].mean(), err_ceiling[i].mean(), min_gap)), pgr_low=low, pgr_high=high,
            oracle_pgr=float(oracle_pgr(err_weak, err_w2s[i].mean()))))
    per_point = pd.DataFrame(points)
    positive = per_point["pgr"].fillna(-np.inf).to_numpy() > 0
    # the first N_pre from which PGR stays positive for every larger N_pre on the grid
    tail = np.flip(np.logical_and.accumulate(np.flip(positive)))
    turns_positive = int(per_point.loc[tail, "n_pre"].iloc[0]) if tail.any() else None
    below = per_point[per_point["n_pre_over_threshold"] <= 0.5]
    above = per_point[per_point["n_pre_over_threshold"] >= 4.0]

    def nan_to_none(value):
        return None if value is None or not np.isfinite(value) else float(value)

    summary = {
        "d": config.d,
        "beta": config.beta,
        "spike_angle_deg": config.spike_angle_deg,
        "information_exponent": link.information_exponent,
        "threshold_n_pre": threshold,
        "err_weak": err_weak,
        "weak_supervisor": weak.describe(),
        "pgr_turns_positive_at_n_pre": turns_positive,
        "pgr_turns_positive_over_threshold": None if turns_positive is None else turns_positive / threshold,
        "below_threshold": {"n_pre_max_over_threshold": 0.5, "points": int(len(below)),
                            "pgr_defined_points": int(below["pgr"].notna().sum()),
                            "pgr_mean_where_defined": nan_to_none(below["pgr"].mean()) if below["pgr"].notna().any() else None,
                            "oracle_pgr_mean": nan_to_none(below["oracle_pgr"].mean()),
                            "err_w2s_mean": nan_to_none(below["err_w2s"].mean()),
                            "err_ceiling_mean": nan_to_none(below["err_ceiling"].mean())},
        "above_threshold": {"n_pre_min_over_threshold": 4.0, "points": int(len(above)),
                            "pgr_mean": nan_to_none(above["pgr"].mean()),
                            "oracle_pgr_mean": nan_to_none(above["oracle_pgr"].mean()),
                            "err_w2s_mean": nan_to_none(above["err_w2s"].mean()),
                            "err_ceiling_mean": nan_to_none(above["err_ceiling"].mean())},
        "per_n_pre": [{k: nan_to_none(v) if isinstance(v, float) else v for k, v in p.items()} for p in points],
    }
    return ExperimentOutput(tables={"results": table, "per_n_pre": per_point}, summary=summary)


# --------------------------------------------------------------------------------------- saturation


@dataclass(frozen=True)
class SaturationConfig:
    d: int = 256
    beta: float = 1.0
    spike_angle_deg: float = 0.0  # angle between the covariance spike and w*
    link: str = "he3"
    runs: int = 8
    steps: int = 6000
    batch: int = 8
    eta: float = 0.9
    pretrain_multiple: float = 16.0
    misalignment_deg: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0, 45.0)
    bias_amplitude: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)
    noise_std: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
    n_labelled: int = 256
    record_points: int = 30

    @classmethod
    def quick(cls) -> "SaturationConfig":
        return cls(d=64, runs=3, steps=800, misalignment_deg=(0.0, 20.0, 45.0), bias_amplitude=(0.0, 0.5, 1.0),
                   noise_std=(0.0, 1.0, 2.0), record_points=10)

    def validate(self) -> None:
        _check_positive(self, "d", "beta", "runs", "steps", "batch", "eta", "pretrain_multiple", "n_labelled", "record_points")
        sizes = {len(self.misalignment_deg), len(self.bias_amplitude), len(self.noise_std)}
        if len(sizes) != 1:
            raise ValueError("misalignment_deg, bias_amplitude and noise_std must list the same number of sizes")
        if any(v < 0 for v in self.misalignment_deg + self.bias_amplitude + self.noise_std):
            raise ValueError("bias sizes must be >= 0")
        HermiteLink.parse(self.link)


NO_BIAS = 1e-9  # a size-0 supervisor's exact error is 0 up to rounding of rho = 1

SATURATION_KINDS = (("misaligned", "misalignment_deg"), ("structured", "bias_amplitude"), ("noise", "noise_std"))


def run_saturation(config: SaturationConfig, seed: int) -> ExperimentOutput:
    config.validate()
    setup, init_seed, train_seed = np.random.SeedSequence(seed).spawn(3)
    link = HermiteLink.parse(config.link)
    model = make_spiked_gaussian(np.random.default_rng(setup), config.d, config.beta, config.spike_angle_deg)
    sizes = len(config.noise_std)
    total = sizes * config.runs
    supervisors = []
    for _, parameter in SATURATION_KINDS:
        values = np.repeat(np.asarray(getattr(config, parameter), dtype=float), config.runs)
        supervisors.append(WeakSupervisor(**{parameter: values}))
    n_pre = int(round(config.pretrain_multiple * bbp_threshold_samples(config.d, config.beta)))
    rng = np.random.default_rng(init_seed)
    directions = spectral_directions(rng, model, n_pre, total)
    # one spectral start per run, shared by every kind, each signed on its own weak labels
    starts = [pick_sign(rng, model, link, directions, s, config.n_labelled) for s in supervisors]
    starts.append(pick_sign(rng, model, link, directions, TrueLabels(), config.n_labelled))
    trajectory = train_spherical_sgd(np.random.default_rng(train_seed), model, link, np.stack(starts),
                                     supervisors + [TrueLabels()], steps=config.steps, batch=config.batch,
                                     lr=learning_rate(config.eta, config.d, link),
                                     record_steps=log_spaced_steps(config.steps, config.record_points))
    error = population_mse(link, trajectory.correlation)  # [record, source, run]
    rows, trajectory_rows, summary_kinds = [], [], {}
    for k, (kind, parameter) in enumerate(SATURATION_KINDS):
        err_weak = supervisors[k].exact_error(model, link, total)
        values = np.repeat(np.asarray(getattr(config, parameter), dtype=float), config.runs)
        for run_index in range(total):
            rows.append(dict(kind=kind, parameter=parameter, size=float(values[run_index]), run=run_index % config.runs,
                             err_weak=float(err_weak[run_index]), err_init=float(error[0, k, run_index]),
                             err_w2s=float(error[-1, k, run_index]), err_ceiling=float(error[-1, -1, run_index])))
        per_size = []
        for g in range(sizes):
            block = slice(g * config.runs, (g + 1) * config.runs)
            mean_curve = error[:, k, block].mean(axis=1)
            for i, step in enumerate(trajectory.steps):
                trajectory_rows.append(dict(kind=kind, parameter=parameter, size=float(values[block][0]), step=int(step),
                                            err_w2s=float(mean_curve[i]), err_weak=float(err_weak[block][0]),
                                            err_ceiling=float(error[i, -1, block].mean())))
            final = float(error[-1, k, block].mean())
            ceiling = float(error[-1, -1, block].mean())
            weak_error = float(err_weak[block][0])
            per_size.append(dict(size=float(values[block][0]), err_weak=weak_error, err_w2s=final,
                                 err_w2s_min_along_training=float(mean_curve.min()), err_ceiling=ceiling,
                                 plateau_over_weak=final / weak_error if weak_error > NO_BIAS else None,
                                 pgr=float(pgr(weak_error, final, ceiling, 0.0)) if weak_error - ceiling > NO_BIAS else None))
        summary_kinds[kind] = {"parameter": parameter, "sizes": per_size}
    summary = {"n_pre": n_pre, "threshold_n_pre": bbp_threshold_samples(config.d, config.beta),
               "initial_error_mean": float(error[0, -1].mean()), "kinds": summary_kinds}
    return ExperimentOutput(tables={"results": pd.DataFrame(rows), "trajectories": pd.DataFrame(trajectory_rows)},
                            summary=summary)


CONFIGS = {"bbp": BBPConfig, "escape": EscapeConfig, "transition": TransitionConfig, "saturation": SaturationConfig}
RUNNERS = {"bbp": run_bbp, "escape": run_escape, "transition": run_transition, "saturation": run_saturation}


def config_for(experiment: str, quick: bool):
    config_class = CONFIGS[experiment]
    return config_class.quick() if quick else config_class()


def config_dict(config) -> dict:
    return asdict(config)
