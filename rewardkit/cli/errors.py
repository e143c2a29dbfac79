"""How the ``rewardkit`` command ends: a user's mistake is one line and exit code 2, Ctrl-C exits 130,
SIGTERM 143 (rows already written kept), a bug one line and exit 1; ``--debug`` shows the traceback."""

from __future__ import annotations

import os
import sys
from typing import Any

from rewardkit.errors import RewardkitError


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM, raised past the CLI framework (which would swallow a KeyboardInterrupt) to ``main``."""

    def __init__(self, signum: int = 2) -> None:
        super().__init__(signum)
        self.signum = signum


interrupt_hint = "rows already written are kept; rerun with --resume"
"""What an interrupted command keeps and how to continue it; a command that keeps something else sets its own."""


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def _debug() -> bool:
    return os.environ.get("RK_DEBUG", "") not in ("", "0") or "--debug" in sys.argv[1:]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes, from click and from the copy typer may carry."""
    usage: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            mod = __import__(module, fromlist=["UsageError", "Abort"])
        except ImportError:
            continue
        usage.extend(c for c in (getattr(mod, "UsageError", None),) if c)
        aborts.extend(c for c in (getattr(mod, "Abort", None),) if c)
    return tuple(usage), tuple(aborts)


def run(app: Any, err_console: Any) -> None:
    """Run the Typer ``app``: user mistakes become one line and exit code 2, Ctrl-C exit 130, SIGTERM 143;
    ``--debug``/``RK_DEBUG=1`` re-raise."""
    if "--debug" in sys.argv[1:]:
        sys.argv.remove("--debug")
        os.environ["RK_DEBUG"] = "1"
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    usage_errors, aborts = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except usage_errors as exc:  # an option mistake: one line, as every other mistake
        if _debug():
            raise
        where = (
            f"rewardkit {exc.ctx.command_path.split(' ', 1)[-1]} --help" if exc.ctx else "rewardkit --help"
        )
        if exc.ctx and exc.ctx.command_path.count(" ") == 0:
            where = "rewardkit --help"
        err_console.print(
            f"[bold red]error:[/] {_one_line(exc.format_message())} (see {where})",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except (Interrupted, KeyboardInterrupt, *aborts) as exc:
        # SIGTERM unwinds like Ctrl-C (rows flushed, lock released) and exits 143 = 128 + SIGTERM
        term = isinstance(exc, Interrupted) and exc.signum == signal.SIGTERM
        err_console.print(("terminated (SIGTERM)" if term else "interrupted") + f" ({interrupt_hint})")
        # Every finally block has run; skip finalisers, which can wait forever on a lock the signal
        # interrupted (pycocoevalcap's METEOR wrapper does, in __del__).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(143 if term else 130)
    except RewardkitError as exc:
        if _debug():
            raise
        err_console.print(f"[bold red]error:[/] {_one_line(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:  # a file the user named: unreadable, unwritable, disk full
        if _debug():
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        err_console.print(
            f"[bold red]error:[/] {where}{_one_line(exc.strerror or exc)}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except Exception as exc:  # a bug: still one line, the traceback on request
        if _debug():
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {_one_line(exc)[:300]} "
            "(rerun with --debug or RK_DEBUG=1 for the traceback, and please report it)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
