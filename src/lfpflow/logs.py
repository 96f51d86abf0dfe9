"""Logging set-up for the workflow's rule scripts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def log_to(path: str | Path | None, name: str = "lfpflow") -> logging.Logger:
    """A logger writing timestamped lines to ``path`` (and to stderr).

    Also records an uncaught exception, with its traceback, in ``path``.

    Parameters
    ----------
    path : path-like or None
        The rule's ``log:`` file; None logs to stderr only.
    name : str
        Logger name (one per rule script).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger(name)
    previous_hook = sys.excepthook

    def log_uncaught(kind, value, traceback):
        # a failing rule's log file then says why, not only Snakemake's console
        logger.critical("failed", exc_info=(kind, value, traceback))
        previous_hook(kind, value, traceback)

    sys.excepthook = log_uncaught
    return logger
