"""Scale-out: many workers (GPUs, SLURM array tasks, relaunches) sharing one run directory.

claims.py       exclusive, self-expiring claims (O_EXCL lock files with a heartbeat)
coordinator.py  the Runner's hooks: who computes which checkpoint, retries, who writes the table
distributed.py  ranks under accelerate/torchrun: `shard` (a worker per rank) or `data` (one unit, all ranks)
status.py       `w2s status RUN`, from the run directory alone
slurm.py        `w2s submit`: a SLURM job array of workers through submitit
See docs/scale.md.
"""
