"""Tables and plots from a run's store."""
