"""What every alia_clin pipe shares with spaCy's own pipes: the error-handler contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spacy.util import raise_error


class ErrorHandlingPipe:
    """``get_error_handler``/``set_error_handler`` as spaCy's ``Pipe`` has them.

    ``nlp.pipe(..., )`` with ``nlp.set_error_handler(fn)`` routes a failing batch to ``fn``
    instead of raising; by default the error is raised.
    """

    def get_error_handler(self) -> Callable[..., Any]:
        """The error handler set on this pipe (default: re-raise)."""
        return getattr(self, "_error_handler", raise_error)

    def set_error_handler(self, error_handler: Callable[..., Any]) -> None:
        """Set the function called with ``(name, pipe, docs, exception)`` when a batch fails."""
        self._error_handler = error_handler
