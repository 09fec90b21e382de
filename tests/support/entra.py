"""`scimctl entra` as a test runs it: the public URL and CI client the Graph double knows, and a CLI runner."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim.cli import main

PUBLIC = "https://scim.contoso.test"
CI_CLIENT = "5e1c8e7f-0d3a-4e1b-9a77-2b6f1d9c0a11"
CI_SECRET = "ci-secret-" + "s" * 30


class Cli:
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
