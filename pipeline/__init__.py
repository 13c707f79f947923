"""Weak-to-strong generalization measured across pre-training checkpoints."""

__version__ = "0.1.0"
