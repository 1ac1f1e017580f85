"""The two kinds of failure every command reports as one line `error: …` (see cli.py).

Kept apart from cli.py so that the pieces the commands are built from (photos.py,
imagenet_weights.py, outputs.py) can raise them without importing the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # only the hint needs it; the errors stay importable without the engine
    from minicnn.nn import StateDictError

__all__ = ["CLIError", "UsageError", "mismatch_details"]


class CLIError(Exception):
    """A well-formed command failed while running (exit code 1).

    details -- optional longer text (e.g. every missing key of a weights file) that `--debug`
               prints before the traceback; the one-line message stays short.
    """

    exit_code = 1

    def __init__(self, message: str, details: Optional[str] = None) -> None:
        super().__init__(message)
        self.details = details


class UsageError(CLIError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = 2


def mismatch_details(error: StateDictError) -> str:
    """The full key lists of a `minicnn.nn.StateDictError`, one line each: the `details` a weights
    mismatch shows under `--debug` (its one-line message names only the first key of each kind)."""
    return "\n".join([f"missing keys ({len(error.missing_keys)}): {error.missing_keys}",
                      f"unexpected keys ({len(error.unexpected_keys)}): {error.unexpected_keys}",
                      f"shape mismatches ({len(error.shape_mismatches)}): {error.shape_mismatches}"])
