"""Small, named errors. Each message names the bad value, what was expected, and the fix.
Entry points map them to exit codes (CLI) or JSON error bodies (HTTP)."""


class RagError(Exception):
    """Base class: an error the user can act on (never shown with a stack trace)."""

    code = "error"


class ConfigError(RagError):
    code = "config_error"


class DatabaseError(RagError):
    code = "database_error"


class InputError(RagError):
    """Bad user input: a path, a filter, a query, a parameter."""

    code = "invalid_input"


class NotFoundError(RagError):
    code = "not_found"


class IndexIntegrityError(RagError):
    """A stored index does not match its build record (a torn or foreign write)."""

    code = "index_integrity"
