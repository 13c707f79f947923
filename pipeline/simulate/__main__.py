"""`python -m pipeline.simulate EXPERIMENT`: usable before the main `w2s` CLI wires the subcommand."""

import argparse
import sys

from .cli import add_arguments, main

parser = argparse.ArgumentParser(prog="python -m pipeline.simulate", description="synthetic weak-to-strong theory simulator")
add_arguments(parser)
sys.exit(main(parser.parse_args()))
