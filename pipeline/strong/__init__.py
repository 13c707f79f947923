"""The strong side: frozen features of a checkpoint and the heads trained on them."""
