"""Request values are escaped before any log line or span attribute, so an id holding %0A
cannot forge a console line and ANSI escapes cannot repaint the operator's terminal.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import redirect_stderr
from dataclasses import replace
from urllib.parse import quote

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from scim.app import App
from scim.dev.console import RequestLineExporter
from scim.http import Request
from scim.routes import dispatch
from scim.telemetry import escape
from tests.contract.entra import USERS
from tests.support.app import Client
from tests.support.telemetry import on_root_logger

HOSTILE_IDS = [
    pytest.param("x\n12:00:01 200 user.delete 1.0ms rt=1 dir=dev id=victim", id="newline"),
    pytest.param("x\r\nforged", id="CRLF"),
    pytest.param("x\x1b[2J\x1b[31mred", id="ANSI"),
    pytest.param("x\u2028line separator\x85NEL\u202eevil", id="unicode separators"),
]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.extend(str(v) for k, v in vars(record).items() if k.startswith("scim."))


@pytest.fixture
def lines() -> Iterator[_Lines]:
    with on_root_logger(_Lines()) as handler:
        yield handler


def _headers(client: Client) -> dict[str, str]:
    return {"authorization": f"Bearer {client.token}", "x-forwarded-for": "127.0.0.1"}


def _unsafe(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\u202e" for c in text)


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
async def test_a_hostile_resource_id_reaches_no_span_attribute_or_console_line_raw(
    app: App, client: Client, spans: InMemorySpanExporter, hostile: str
) -> None:
    # The Functions host (and devhost) hand the trigger a percent-decoded route parameter: %0A is a newline.
    request = Request(
        "GET", f"{USERS}/{quote(hostile, safe='')}", {"id": hostile}, {}, _headers(client), b"", "127.0.0.1"
    )
    reply = await dispatch(app, "users", request)
    assert reply.status == 404, reply.body
    [span] = [s for s in spans.get_finished_spans() if s.name == "user.get"]
    attributes = {k: str(v) for k, v in (span.attributes or {}).items()}
    assert not any(_unsafe(v) for v in attributes.values()), attributes
    assert (
        "\\x0a" in attributes["scim.resource_id"]
        or "\\x1b" in attributes["scim.resource_id"]
        or "\\u" in (attributes["scim.resource_id"])
    )
    out = io.StringIO()
    with redirect_stderr(out):
        RequestLineExporter().export([span])
    printed = out.getvalue()
    assert printed.count("\n") == 1 and not _unsafe(printed.rstrip("\n")), printed


async def test_refusal_details_logged_with_pii_are_escaped(app: App, client: Client, lines: _Lines) -> None:
    app.settings = replace(app.settings, log_pii=True)
    reply = await client.post(USERS, {"userName": "evil\n\x1b[31mforged"})
    assert reply.status == 400
    assert lines.lines and not any(_unsafe(line) for line in lines.lines), lines.lines


def test_escape_is_injective_on_backslashes_and_bounded() -> None:
    assert escape("a\\x0a") != escape("a\n")
    assert escape("plain-id_1.2") == "plain-id_1.2"
    assert escape("josé") == "josé"
    assert len(escape("y" * 100_000)) < 1100
