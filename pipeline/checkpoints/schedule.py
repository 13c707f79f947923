"""Which steps a suite saves: the Pythia rule, and its shape scaled down for local suites."""

from __future__ import annotations

PYTHIA_TOKENS_PER_STEP = 2_097_152
PYTHIA_FINAL_STEP = 143_000


def pythia_steps() -> list[int]:
    """The 154 published Pythia revisions: step0, step1..512 by doubling, step1000..143000 by 1000."""
    return [0] + [2**i for i in range(10)] + list(range(1000, PYTHIA_FINAL_STEP + 1, 1000))


def local_steps(total_steps: int, log_spaced_until: int = 512, evenly_spaced: int = 5) -> list[int]:
    """step0, doubling steps up to `log_spaced_until` (and below the end), then `evenly_spaced`
    steps evenly spread from there to the final step, which is always included."""
    if total_steps < 1:
        raise ValueError("total_steps must be positive")
    steps = [0]
    s = 1
    while s <= min(log_spaced_until, total_steps):
        steps.append(s)
        s *= 2
    last = steps[-1]
    if last < total_steps:
        span = total_steps - last
        for k in range(1, evenly_spaced + 1):
            steps.append(last + round(span * k / evenly_spaced))
    return sorted(set(steps))


def revision_name(step: int) -> str:
    return f"step{step}"
