"""Pure statistics for the analysis stage: PGR uncertainty and transition fits."""
