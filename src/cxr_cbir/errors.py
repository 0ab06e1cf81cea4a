"""Exceptions that name the file, row or key at fault, so a user can fix their input."""


class InputError(ValueError):
    """Bad user input (CSV, image path, label value, config) with a message naming it."""


class PathEscapeError(InputError):
    """An image path from a CSV resolves outside the data root."""


class NumericalError(RuntimeError):
    """A model or saliency method produced NaN or infinite values; names the images."""


def name_some(names, limit: int = 10) -> str:
    """'a, b, c' or 'a, b, ... (+N more)': enough to find the culprits in a long list."""
    names = [str(n) for n in names]
    more = f", ... (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
