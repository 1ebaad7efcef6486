"""The errors a user can cause, one class per kind; the command line maps them all to exit 2.

Every `UserError` carries the whole story in its message (what is wrong, what would be valid): the
CLI prints it as one line on stderr, never a traceback. Anything else that escapes a command is a
failure (exit 1). This module imports nothing, so every layer can raise these.
"""

from __future__ import annotations


class UserError(Exception):
    """A user mistake or a refused request: exit 2, one message, nothing built or changed."""


class ConfigError(UserError):
    """A mistake in a stack file or the fleet's config."""


class UsageError(UserError):
    """A wrong command-line argument or missing environment a command needs."""


class Refusal(UserError):
    """A request the rules refuse (e.g. a drain that would leave a zone without an active cell)."""


class OutputFileError(UserError):
    """An output file (--json, --diagram) that cannot be written."""


def write_output(path: str, text: str, flag: str = "--json") -> None:
    """Write TEXT to PATH; an unwritable path is an `OutputFileError` naming the flag."""
    from pathlib import Path

    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise OutputFileError(f"{flag} {path}: cannot write the file ({exc.strerror or exc})") from None
