"""Exceptions that carry a message fit to return to an admin (never to a log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


#: The longest message answered: one that quotes a 10,000-character value is cut (the
#: client sent the value; the answer only needs to say which one was wrong).
MAX_MESSAGE = 500


def bounded_message(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[: MAX_MESSAGE - 40]}... ({len(message) - MAX_MESSAGE + 40:,} characters more)"


class ApiError(Exception):
    """An HTTP error answered as ``{"errors": [...]}`` with ``status``."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = [bounded_message(m) for m in messages]


#: Where Powertools says a request error is; the message names the field, not the place.
_PLACES = ("body", "query", "path", "header")


def field_messages(errors: Sequence[Any], prefix: str | None = None) -> list[str]:
    """One message per bad field of a request: ``patient.date_of_birth must be ...``.

    ``errors`` are pydantic's (or Powertools' request validation's, whose locations start
    with ``body`` or ``query``); an error of the body as a whole keeps its own message.
    """
    messages = []
    for error in errors:
        loc = [str(part) for part in error["loc"]]
        place = loc[0] if loc and loc[0] in _PLACES else None
        if place:
            loc = loc[1:]
        where = ".".join([*([prefix] if prefix else []), *loc])
        message = str(error["msg"]).removeprefix("Value error, ")
        limits = error.get("ctx") or {}
        if error["type"] == "extra_forbidden" and place == "query":
            messages.append(f"Unknown query parameter '{where}'")
        elif error["type"] == "string_too_long":
            messages.append(f"{where} is longer than {limits['max_length']} characters")
        elif error["type"] == "too_long":
            messages.append(f"{where} has more than {limits['max_length']:,} items")
        elif error["type"] == "string_too_short" and limits.get("min_length") == 1:
            messages.append(f"{where} can't be blank")
        elif not where:
            messages.append("Request body is required" if error["type"] == "missing" else message)
        elif error["type"] == "extra_forbidden":
            messages.append(f"Unknown field '{where}'")
        else:
            messages.append(f"{where} {message}")
    return messages


def invalid_body(prefix: str | None, exc: ValidationError) -> ApiError:
    """A 422 naming each bad field of a body validated by the domain itself."""
    return ApiError(422, *field_messages(exc.errors(), prefix))


class UrlRefused(Exception):
    """A URL source or webhook cannot be reached (SSRF guard, limits); the message is safe to
    show the admin (no secrets)."""


class FileFormatError(Exception):
    """The file cannot be read at all (wrong type, broken CSV, hostile XML, zip bomb...)."""


class ImportRejected(Exception):
    """The file was read but its rows are invalid; ``errors`` lists each problem."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors
        self.warnings = warnings or []


class LockHeld(Exception):
    """Another import holds the import lock; the state machine retries with backoff."""


class ConcurrentModification(Exception):
    """A record changed between planning and applying; the import rolls back."""


class BatchIncomplete(Exception):
    """DynamoDB kept answering a batch call with unprocessed items (throttling) past the cap."""


class ApplyRunning(Exception):
    """A rollback found an apply chunk of its import still running past its timeout; the
    state machine retries the rollback."""


class ServiceBusy(Exception):
    """AWS kept answering "try again" (throttling, 5xx, a transaction conflict) after every
    retry of one call. Nothing about the request is wrong: an import stage raises it for the
    state machine to retry the stage later (Step Functions matches the class name), and the
    API answers it 503 with Retry-After. The message names error codes only, never values."""


class InjectedFault(Exception):
    """Raised by the test-only fault hook (enabled only with ECM_ENABLE_FAULT_HOOKS=1)."""


class StageFailed(Exception):
    """An unexpected error inside an import stage, re-raised without its message.

    A message or traceback may quote a row value; Lambda writes both to the logs. This keeps
    only the original exception's type, which Step Functions records as the cause.
    """
