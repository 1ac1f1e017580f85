"""The argument parser of the commands: one-line usage errors, checked numbers, defaults in --help.

* `Parser.error` raises `UsageError` (printed by `cli.main` as one line `error: …`, exit 2)
  instead of argparse's usage block and `SystemExit(2)`;
* the number types reject a bad value while parsing, with the expected range in the message, so
  every command reports `--n -5` the same way;
* `DefaultsFormatter` appends "(default: …)" to an option's help unless the help already says
  what the default is, or the default is None (then the help says what happens without it).
"""

from __future__ import annotations

import argparse
from typing import Callable, NoReturn

from .errors import UsageError

__all__ = ["Parser", "DefaultsFormatter", "positive_int", "int_at_least", "fraction", "dpi", "MIN_DPI", "MAX_DPI"]

# Bounds of --dpi: below 10 a figure is unreadable; above 1000 it is a poster printed at 4× its
# resolution. The figure's pixel count is checked on its own (`outputs.check_figure_pixels`).
MIN_DPI, MAX_DPI = 10, 1000


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises UsageError (one line) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


class DefaultsFormatter(argparse.HelpFormatter):
    """Show each option's default, unless its help already does or there is none to show."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        nothing_to_show = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in help_text or nothing_to_show or not action.option_strings:
            return help_text
        return f"{help_text} (default: %(default)s)"


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int ≥ minimum, or an ArgumentTypeError saying so."""
    expected = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    parse.__name__ = expected  # argparse names the type in some messages
    return parse


positive_int = int_at_least(1)


def fraction(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value:g}")
    return value


def dpi(text: str) -> int:
    """An argparse type: dots per inch, an int in [MIN_DPI, MAX_DPI]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer from {MIN_DPI} to {MAX_DPI}, got {text!r}") from None
    if not MIN_DPI <= value <= MAX_DPI:
        raise argparse.ArgumentTypeError(f"expected an integer from {MIN_DPI} to {MAX_DPI} (dots per inch), got {value}")
    return value
