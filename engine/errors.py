"""What a command refuses, said twice: in English for logs, in Chinese for officials."""

from __future__ import annotations


class CommandError(Exception):
    """A command that did not happen; nothing it began was kept."""

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


class NotFound(CommandError):
    pass


class NotAllowed(CommandError):
    """The official's role or division does not cover this."""


class Conflict(CommandError):
    """Someone else changed the case first, or the step is no longer open."""


class InvalidData(CommandError):
    """Form data that breaks the form's schema or a rule of the guide."""

    def __init__(self, errors: list):
        super().__init__(
            "invalid form data: " + "; ".join(e.path or "form" for e in errors),
            "；".join(e.message for e in errors),
        )
        self.errors = errors
