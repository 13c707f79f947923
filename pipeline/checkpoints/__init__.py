"""Checkpoint suites: which revisions exist, how to build the local ones, how to load any of them."""
