"""Exceptions that name the file, row or key at fault, so a user can fix their input."""


class InputError(ValueError):
    """Bad user input (CSV, image path, label value, config) with a message naming it."""


class PathEscapeError(InputError):
    """An image path from a CSV resolves outside the data root."""
