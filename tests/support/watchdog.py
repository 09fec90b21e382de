"""Kill what a pytest run started once that run dies: ``python watchdog.py <pytest pid>``.

A pytest killed by SIGKILL (or SIGTERM, whose default action skips fixture teardown) never stops the emulators and
servers it launched; they run in sessions of their own, so no signal reaches them. This process polls the run's
descendants, remembers each, and when the run is gone kills every one still alive.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import psutil

POLL = 0.2


def watch(pid: int) -> None:
    try:
        run = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    seen: dict[int, psutil.Process] = {}
    while True:
        try:
            for child in run.children(recursive=True):
                if child.pid != os.getpid():
                    seen.setdefault(child.pid, child)
            if not run.is_running() or run.status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(POLL)
    for process in seen.values():
        # is_running() compares creation times, so a reused pid is never killed.
        if process.is_running():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


if __name__ == "__main__":
    watch(int(sys.argv[1]))
