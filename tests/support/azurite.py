"""The tests' one Azurite, and the guards that keep it honest.

One emulator (tables and queues, in memory) serves the whole session; each test keeps apart by a table prefix of
its own. A test reaches it through the ``azurite`` fixture (tests/conftest.py), whose use marks the test ``azurite``
at collection; any Azurite started by a test without the marker fails the test (``Guard``), so
``-m "not azurite"`` provably starts no emulator. Servers (``Host``) and the ``e2e`` marker are kept the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scim.dev.azurite import Azurite

WATCHDOG = Path(__file__).with_name("watchdog.py")


def selected(config: pytest.Config, marker: str) -> bool:
    """Whether the run's ``-m`` expression can select a test carrying ``marker`` (and no other marker)."""
    expression = config.getoption("markexpr")
    if not expression:
        return True
    from _pytest.mark.expression import Expression

    def matches(name: str, /, **_: str | int | bool | None) -> bool:
        return name == marker

    return Expression.compile(expression).evaluate(matches)


class Guard:
    """Fails a service's start() in a test that lacks the service's marker (``-m`` would mis-select that test)."""

    def __init__(self) -> None:
        self.item: pytest.Item | None = None

    def require(self, service: Any, marker: str) -> None:
        """Wrap ``service.start`` so it checks the running test's markers first (fixtures of any scope included)."""
        original = service.start
        guard = self

        def start(self: object, *args: object, **kwargs: object) -> object:
            item = guard.item
            if item is not None and item.get_closest_marker(marker) is None:
                raise AssertionError(f"{item.nodeid} starts {service.__name__}: mark it {marker}")
            return original(self, *args, **kwargs)

        service.start = start


def start_session(config: pytest.Config) -> Azurite:
    """Start the session's emulator; refuse when the run's ``-m`` deselects every Azurite test."""
    if not selected(config, "azurite"):
        raise AssertionError(f"Azurite requested in a run with -m {config.getoption('markexpr')!r}")
    running = Azurite(queue=True)
    running.start()
    return running


def start_watchdog() -> subprocess.Popen[bytes]:
    """A process that, when this pytest dies (even by SIGKILL), kills the emulators and servers it started."""
    return subprocess.Popen([sys.executable, str(WATCHDOG), str(os.getpid())], stdin=subprocess.DEVNULL)
