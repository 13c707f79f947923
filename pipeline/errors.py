"""Errors a user can act on: the CLI prints them as one line and exits 2."""


class UserError(Exception):
    """Bad input or a missing prerequisite; the message names the file or field."""

    exit_code = 2


class DataUnavailable(UserError):
    """A registry download failed and nothing is cached."""
