"""Workflows support types (the executor runs no workflow engine)."""


class NonRetryableError(Exception):
    """Raised by a workflow step that must not be retried."""
