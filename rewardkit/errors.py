"""Exception types for user mistakes; the CLI prints them as one line without a traceback."""

from __future__ import annotations


class RewardkitError(Exception):
    """A mistake the user can fix (bad name, bad input, missing file); never a bug."""


class UnknownNameError(RewardkitError, KeyError):
    """A name not found in a registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ArgumentError(RewardkitError, TypeError):
    """A Python API argument of the wrong kind (a string where a list of texts is expected, ...)."""


class NonFiniteError(RewardkitError, ValueError):
    """A metric's input holds NaN or infinity (a broken model or input): no number would mean anything."""
