"""The weak supervisor stage."""
