"""Real input fetched from package registries, pinned and checked."""
