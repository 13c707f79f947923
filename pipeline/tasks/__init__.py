"""Labelled tasks: declared in tasks/*.yaml, loaded into examples, split by source document."""
