"""scimctl's main() run in this process, as the CLI tests call it: JSON output parsed, or the text as printed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim.cli import main


class Cli:
    """Runs a command, asserts its exit code, and keeps what it wrote to stderr in ``err``."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.err = ""

    def __call__(self, *argv: str, code: int = 0) -> Any:
        result = main(["--json", *argv])
        out, self.err = self._capsys.readouterr()
        assert result == code, (argv, out, self.err)
        return json.loads(out) if out.strip() else None

    def text(self, *argv: str, code: int = 0) -> str:
        result = main(list(argv))
        out, self.err = self._capsys.readouterr()
        assert result == code, (argv, out, self.err)
        return out
