"""Every shell command in README.md and docs/*.md runs here, against a `scimctl serve` this test starts.

The convention, for anyone writing docs (README "Commands in the docs are tested"):

* A fenced block labelled ``sh`` or ``bash`` is run. The blocks of one page run in order in one bash
  (``set -euo pipefail``) in a temp dir, against a fresh local host on Table Storage (its own Azurite),
  so later blocks see what earlier ones created. Every command must exit 0.
* A block that cannot run here (Azure, a real Entra tenant, a terminal of its own) carries a line
  ``# needs: <what and why>``. It is not run, and it is reported as skipped with that reason.
* Every other block is labelled ``text``, ``json`` or ``kusto``; an unlabelled block fails the test.
* ``127.0.0.1:7071`` (make run's address) becomes the test host's address. The environment is what
  make run's banner export line and `azd env get-values` would give: SCIM_STORE, SCIM_TABLES_CONNECTION_STRING,
  SCIM_SECRETS_FILE, SCIM_PUBLIC_BASE_URL and SCIM_BASE_URL, pointed at the test host.
* ``PATH`` is the reader's, without the project's ``.venv/bin``: a page reaches ``scimctl`` through its own
  ``export PATH=...`` line, or, when it has none, through the README's (its reader followed the README first).
  The temp dir stands for the project folder: its ``.venv`` is the project's.
* Placeholders, in angle brackets, are filled in as a reader would (PLACEHOLDERS below); any other
  ``<name>`` in a runnable block fails the test.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scim.dev.azurite import connection_string, free_port, queue_connection_string
from scim.dev.localrun import DEV_CLIENT_FILE
from scim.errors import InvalidValue
from scim.service.names import resolve
from tests.support.host import ROOT, SCIMCTL, Host, make_run_env, plain_shell_env

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash"}
VENV = SCIMCTL.parent.parent  # the environment running the tests stands for the project's .venv
NOT_COMMANDS = {"text", "json", "kusto", "python"}  # python: docs/integration.md's examples, tests/e2e runs them
# `# needs: <reason>`; the colon may be left out (`# needs a real Entra tenant`, which tests/entra/test_docs.py reads).
MARKER = re.compile(r"^\s*# needs:?\s+(?P<reason>\S.*)$", re.MULTILINE)
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
# Anything in angle brackets that starts with a letter (a shell redirection never does: `< file`, `2>&1`).
PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z0-9 _.-]*)>")
# What each placeholder stands for, and what the test puts in its place.
PLACEHOLDERS = {
    "client-id": "the client id the page's last `client create` / `client show` printed",
    "client-secret": "the client secret the page's last `client create` / `rotate-secret` printed",
    "token-id": "the long-lived token id the page's last `token issue --long-lived` printed",
    "entra-ranges": "Entra's AzureActiveDirectory prefixes (printed by a `# needs:` az block); here two of them",
    "your-address": "the address the service sees for the reader; here 127.0.0.1",
    "base-url": "the deployment's Base URL; here the test host's",
    "tenant-id": "the Entra tenant id (a GUID); here an example one",
    "audience": "Audience (aud) from Entra's Connectivity page; here an example api:// URI",
    "subject": "Subject (sub) from Entra's Connectivity page; here an example GUID",
}
ENTRA_RANGES = "20.190.128.0/18 40.126.0.0/18"
# Each scimctl call records the ids it printed, so later commands can use them (as a reader copies them).
PRELUDE = r"""
set -euo pipefail
scimctl() {
  local out rc=0
  out=$(command scimctl "$@") || rc=$?
  printf '%s\n' "$out"
  if [ "$rc" -ne 0 ]; then return "$rc"; fi
  local v
  v=$(printf '%s\n' "$out" | sed -n 's/.*client_id=\([^ ]*\).*/\1/p' | tail -n 1)
  if [ -n "$v" ]; then DOCS_CLIENT_ID=$v; fi
  v=$(printf '%s\n' "$out" | sed -n 's/.*client_secret=\([^ ]*\).*/\1/p' | tail -n 1)
  if [ -n "$v" ]; then DOCS_CLIENT_SECRET=$v; fi
  v=$(printf '%s\n' "$out" | sed -n 's/.*token_id=\([^ ]*\).*/\1/p' | tail -n 1)
  if [ -n "$v" ]; then DOCS_TOKEN_ID=$v; fi
  return 0
}
"""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def needs(self) -> str | None:
        marker = MARKER.search(self.text)
        return marker["reason"].strip() if marker else None


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, with the line of their opening fence."""
    found: list[Block] = []
    opening: tuple[int, str, str] | None = None
    body: list[str] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if opening is None and fence:
            opening, body = (number, fence["lang"], fence["indent"]), []
        elif opening is not None and line.strip() == "```":
            found.append(Block(page, opening[0], opening[1], "\n".join(body)))
            opening = None
        elif opening is not None:
            body.append(line[len(opening[2]) :] if line.startswith(opening[2]) else line)
    assert opening is None, f"{page.relative_to(ROOT)}:{opening[0]}: a fence is never closed"
    return found


ALL = [b for page in PAGES for b in blocks(page)]
MARKED = [b for b in ALL if b.lang in SHELL and b.needs is not None]
RUNNABLE = [b for b in ALL if b.lang in SHELL and b.needs is None]
RUN_PAGES = sorted({b.page for b in RUNNABLE})


def readme_path_line() -> str:
    """The README's line that puts scimctl on PATH after `make install`."""
    lines = [
        line
        for b in RUNNABLE
        if b.page.name == "README.md"
        for line in b.text.splitlines()
        if line.startswith("export PATH=") and ".venv/bin" in line
    ]
    assert len(lines) == 1, f"README.md must say, once in a runnable block, how scimctl is reached: {lines}"
    return lines[0]


def script_for(page_blocks: list[Block], port: int, base_url: str) -> str:
    """One bash script: the prelude, then each block, announced so a failure names its block."""
    parts = [PRELUDE]
    if not any(line.startswith("export PATH=") for b in page_blocks for line in b.text.splitlines()):
        parts.append(f"echo '>>> README.md (how scimctl is reached)' >&2\n{readme_path_line()}\n")
    values = {
        "client-id": '"$DOCS_CLIENT_ID"',
        "client-secret": '"$DOCS_CLIENT_SECRET"',
        "token-id": '"$DOCS_TOKEN_ID"',
        "entra-ranges": ENTRA_RANGES,
        "your-address": "127.0.0.1",
        "base-url": base_url,
        "tenant-id": "6f1c3a52-8d7e-4b90-a1c2-3d4e5f607182",
        "audience": "api://0c7e9d21-5b3a-4f68-9e10-2a3b4c5d6e7f",
        "subject": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    }
    for block in page_blocks:
        text = block.text.replace("127.0.0.1:7071", f"127.0.0.1:{port}")
        text = PLACEHOLDER.sub(lambda m: values[m[1]], text)
        parts.append(f"echo '>>> {block.where}' >&2\n{text}\n")
    return "\n".join(parts)


def test_the_readme_refusal_example_is_what_the_service_says() -> None:
    """README's example detail is the real one for 'Finance Team' against a catalog holding FinanceTeam."""
    (example,) = [json.loads(b.text) for b in ALL if b.lang == "json" and "invalidValue" in b.text]
    with pytest.raises(InvalidValue) as refused:
        resolve("group", "Finance Team", ["FinanceTeam"], "strict")
    assert example["detail"] == refused.value.detail


def test_every_block_is_labelled() -> None:
    unlabelled = [f"{b.where} ```{b.lang}" for b in ALL if b.lang not in SHELL | NOT_COMMANDS]
    assert unlabelled == [], "label each block sh/bash (run here) or text/json/kusto (not commands)"


def test_runnable_blocks_use_only_known_placeholders() -> None:
    unknown = [f"{b.where}: <{name}>" for b in RUNNABLE for name in PLACEHOLDER.findall(b.text)]
    unknown = [u for u in unknown if u.rsplit("<", 1)[1].rstrip(">") not in PLACEHOLDERS]
    assert unknown == [], f"write the value, add a `# needs:` line, or add the placeholder to PLACEHOLDERS: {unknown}"


def test_the_docs_have_runnable_and_marked_blocks() -> None:
    """Guards the extraction itself: if it found nothing, every other test here would pass vacuously."""
    assert len(RUNNABLE) >= 8 and len(MARKED) >= 8
    assert {b.page.name for b in RUNNABLE} >= {"README.md", "deploy.md", "security.md"}


@pytest.mark.parametrize("block", MARKED, ids=lambda b: b.where)
def test_blocks_that_need_azure_say_why(block: Block) -> None:
    reason = block.needs or ""
    assert len(reason) >= 10, f"{block.where}: say what the block needs, e.g. `# needs: Azure subscription`"
    pytest.skip(f"{block.where} is not run: needs {reason}")


def reader_env(folder: Path) -> dict[str, str]:
    """A reader's shell in `folder`, standing for the project folder after `make install`: the project's
    .venv is there, and nothing has put its bin on PATH (nor activated it)."""
    (folder / ".venv").symlink_to(VENV)
    return plain_shell_env()


def test_scimctl_is_reached_through_the_readme_path_line_alone(tmp_path: Path) -> None:
    """The docs test used to put .venv/bin on PATH itself, so the README never had to say how."""
    env = reader_env(tmp_path)
    where = "command -v scimctl"
    before = subprocess.run(["bash", "-c", where], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert before.returncode != 0, f"scimctl is on PATH before the README's line: {before.stdout}"
    script = f"set -eu\n{readme_path_line()}\n{where}"
    after = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert after.returncode == 0 and after.stdout.strip() == str(tmp_path / ".venv" / "bin" / "scimctl"), after


@pytest.fixture
def docs_host(tmp_path: Path) -> Iterator[tuple[Host, dict[str, str]]]:
    """`make run` in a temp dir: `scimctl serve` on tables, with its own Azurite under ./.data."""
    env = make_run_env(tmp_path / ".data")
    host = Host(free_port(), env, tmp_path / "serve.log")
    host.start()
    assert (tmp_path / ".data" / DEV_CLIENT_FILE).exists()
    shell_env = reader_env(tmp_path)
    shell_env.update(
        SCIM_STORE="tables",
        SCIM_TABLES_CONNECTION_STRING=connection_string(int(env["SCIM_AZURITE_PORT"])),
        SCIM_QUEUES_CONNECTION_STRING=queue_connection_string(int(env["SCIM_AZURITE_QUEUE_PORT"])),
        SCIM_SECRETS_FILE=str(tmp_path / ".data" / "secrets.json"),
        SCIM_PUBLIC_BASE_URL=host.url,
        SCIM_BASE_URL=host.scim_url,
    )
    yield host, shell_env
    host.stop()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_commands_of_a_page_run(page: Path, docs_host: tuple[Host, dict[str, str]], tmp_path: Path) -> None:
    host, env = docs_host
    script = script_for([b for b in RUNNABLE if b.page == page], host.port, host.scim_url)
    run = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    failed_at = ([line for line in run.stderr.splitlines() if line.startswith(">>> ")] or ["(before any block)"])[-1]
    output = f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.returncode == 0, f"{failed_at} failed (exit {run.returncode}):\n{output}"
    assert "Traceback" not in run.stdout + run.stderr


def test_deploy_md_walks_the_entra_side_end_to_end() -> None:
    """The manual Entra steps around the product, each where an admin looks for it."""
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    steps = [
        "### 1. Create the enterprise application",
        "### 2. Create one app role per catalog role",
        "### 3. Assign users and groups",
        "### 4. Admin Credentials",
        "### 5. Mappings",
        "### 6. Try one user: provision on demand",
        "### 7. Turn provisioning on and start it",
        "### 8. Where the provisioning logs are",
    ]
    positions = [deploy.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), dict(zip(steps, positions, strict=True))
    for fact in ("| Value | the catalog name, exactly", "**Default attribute mappings.**", "Start provisioning"):
        assert fact in deploy, fact
    # The manual path had no SAML single sign-on step.
    saml = deploy[deploy.find("### 9. SAML single sign-on") :]
    assert positions[-1] < deploy.find("### 9. SAML single sign-on"), "step 9 follows step 8"
    for fact in ("Identifier (Entity ID)", "Reply URL", "Unique User Identifier (Name ID)", "`userName`"):
        assert fact in saml, fact
    for fact in ("Token signing certificate", "App Federation Metadata Url", "federationmetadata.xml?appid="):
        assert fact in saml, fact


def test_deploy_md_lists_every_role_assignment_rbac_bicep_grants() -> None:
    """The table left out the queue roles infra/app/rbac.bicep grants the app and the admin."""
    bicep = (ROOT / "infra" / "app" / "rbac.bicep").read_text(encoding="utf-8")
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    who = {"appPrincipalId": "app identity", "principalId": "you (`principalId`, optional)"}
    granted = set()
    for block in bicep.split("\nresource ")[1:]:
        if "Microsoft.Authorization/roleAssignments" not in block.splitlines()[0]:
            continue  # the existing resources the assignments are scoped to
        principal = re.search(r"principalId: (\w+)", block)
        role = re.search(r"roles\.(\w+)\)", block)
        assert principal and role, block[:200]
        name = re.sub(r"(?<!^)(?=[A-Z])", " ", role[1]).title()  # storageQueueDataContributor -> Storage Queue ...
        granted.add(f"| {who[principal[1]]} | {name} |")
    assert len(granted) >= 8
    missing = sorted(row for row in granted if row not in deploy)
    assert missing == [], missing


OUTSIDE = re.compile(r"\.\./shared|ROOT\.parent|parents\[\d\] / \"shared\"|shared/reference|shared/DESIGN")


def test_nothing_in_the_repository_reads_or_links_outside_it() -> None:
    """A clone stands alone. Only .ci/run may look beside the checkout, for third-party material
    (Microsoft's Postman collection) that tests take from a setting and skip without."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()
    found = []
    for name in listed.splitlines():
        path = ROOT / name
        if name in (".ci/run", this) or not path.is_file() or path.suffix not in {".py", ".md", ".bicep", ".json", ""}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m[0]}" for m in OUTSIDE.finditer(text)]
    assert found == [], found
