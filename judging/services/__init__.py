"""Use cases: each function takes the session and the acting user, flushes, and never commits.

The caller (a view, a CLI command) owns the transaction and commits once at the edge. A service
raises :class:`ServiceError` with a translatable message when the request cannot be honoured; the
caller shows the message and rolls back, so a refusal changes nothing.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal to show to the user; ``message`` is already in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The object does not exist, or the actor may not know that it does."""
