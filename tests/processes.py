"""Helpers for tests that start the CLI as a process and signal it."""

from __future__ import annotations

import signal


def default_signal_handling() -> None:
    """`preexec_fn` for a child that a test interrupts like a terminal or a supervisor would.

    A test session started in the background, under nohup or by a CI runner may inherit
    SIGINT or SIGHUP as ignored, and children keep that (as `devnet up` deliberately does for
    a nohup'ed caller); reset them so the signal a test sends is the one a user's would be.
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
