"""Errors that the CLI turns into one clear line and exit code 2 (``interfaces.md``)."""

from __future__ import annotations

__all__ = ["InputError", "OutputError", "StuckError", "InfeasibleError"]


class InputError(ValueError):
    """Bad input: a malformed trace, an impossible request, an unknown policy or parameter."""


class OutputError(InputError):
    """An output that cannot be written (a directory, a read-only or full file system); the
    message names the path."""


class InfeasibleError(InputError):
    """A schedule or instance that violates the model's constraints."""


class StuckError(RuntimeError):
    """A simulation that can make no progress; carries the round and the waiting requests."""

    def __init__(self, message: str, *, round: int, waiting: list[int]) -> None:
        super().__init__(message)
        self.round = round
        self.waiting = waiting
