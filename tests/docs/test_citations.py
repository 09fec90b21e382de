"""Every citation in the code and the docs points inside the repository (docs/architecture.md "Decisions and why").

A comment that cites a reference names its file under docs/reference/ and a section that file has; nothing
cites the issue tracker, a design note or a folder outside the clone, which a newcomer cannot follow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
SCANNED = [
    *(ROOT / name for name in ("scim", "tests", "bench", "docs", "infra")),
    ROOT / "function_app.py",
    ROOT / "README.md",
]
SUFFIXES = {".py", ".md", ".yaml", ".bicep"}
# This test's own sibling holds the same guard as a regular expression.
EXEMPT_FROM_OUTSIDE = {"tests/docs/test_docs_commands.py"}

# Written in pieces so this file does not match itself: the folder beside the clone, its design and style notes,
# and its reference files (their facts live in docs/reference/ now).
OUTSIDE = re.compile(
    re.escape(".." + "/shared")
    + r"|\b(?:"
    + "DES"
    + "IGN|"
    + "STY"
    + r"LE)(?:\.md)?\b"
    + r"|\b(?:entra-"
    + "provisioning|azure-"
    + "stack|entra-graph-"
    + r"msal)\.md"
)
BARE_REFERENCE = re.compile(r"\breference\s+(?:[\w.-]+\.md\s+)?" + "§")
PROJECT_ISSUE = re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE)
# A section cited in a document of the repository: docs/reference/x.md §N, reference/x.md §N (from docs/), x.md §N
# (inside docs/reference/), docs/security.md §N.
CITED = re.compile(
    r"(?P<dir>(?:docs/)?(?:reference/)?)(?P<file>[\w-]+\.md)"
    r"(?P<sections>(?:(?:,|and|\s)+§\d+(?:\.\d+)*(?:-\d+(?:\.\d+)*)?)+)"
)
SECTION = re.compile(r"§(\d+(?:\.\d+)*)(?:-(\d+(?:\.\d+)*))?")
HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def _files() -> list[Path]:
    found: list[Path] = []
    for root in SCANNED:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        found += [p for p in paths if p.suffix in SUFFIXES and "__pycache__" not in p.parts]
    return found


FILES = _files()


def _hits(pattern: re.Pattern[str], exempt: frozenset[str] = frozenset()) -> list[str]:
    hits = []
    for path in FILES:
        if str(path.relative_to(ROOT)) in exempt:
            continue
        text = path.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            hits.append(f"{path.relative_to(ROOT)}:{line}: {match[0]}")
    return hits


def sections(name: str, folder: Path = REFERENCE) -> set[str]:
    """The section numbers a document's headings define ("## 1." and "### 1.2" give "1" and "1.2")."""
    return set(HEADING.findall((folder / name).read_text(encoding="utf-8")))


def _target(path: Path, match: re.Match[str]) -> Path | None:
    """The document a citation names, or None when it names no document of docs/."""
    folder = ROOT / "docs"
    if "reference/" in match["dir"] or (not match["dir"] and path.parent == REFERENCE):
        folder = REFERENCE
    elif not match["dir"] and path.parent != folder:
        return None  # a bare name outside docs/ (README.md §N, say) is not a docs citation
    return folder / match["file"]


def test_nothing_cites_a_folder_or_design_note_outside_the_repository() -> None:
    assert _hits(OUTSIDE, frozenset(EXEMPT_FROM_OUTSIDE)) == []


def test_every_reference_citation_names_its_file() -> None:
    assert _hits(BARE_REFERENCE) == []


def test_nothing_cites_the_projects_issue_tracker() -> None:
    """Other projects' issues are cited as owner/repo#N or by URL, so they stay followable."""
    assert _hits(PROJECT_ISSUE) == []


def test_every_cited_section_exists() -> None:
    missing = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for match in CITED.finditer(text):
            target = _target(path, match)
            if target is None:
                continue
            have = sections(target.name, target.parent) if target.is_file() else set()
            for first, last in SECTION.findall(match["sections"]):
                for number in (first, last):
                    if number and number not in have:
                        line = text.count("\n", 0, match.start()) + 1
                        missing.append(f"{path.relative_to(ROOT)}:{line}: {target.relative_to(ROOT)} §{number}")
    assert missing == []


@pytest.mark.parametrize("name", sorted(p.name for p in REFERENCE.glob("*.md")))
def test_reference_files_number_their_sections(name: str) -> None:
    assert sections(name), f"docs/reference/{name} has no numbered headings to cite"


def test_the_checks_catch_what_they_look_for() -> None:
    assert OUTSIDE.search("see " + ".." + "/shared/x")
    assert BARE_REFERENCE.search("(reference " + "§1.2)")
    assert PROJECT_ISSUE.search("(issue " + "12)")
    assert not PROJECT_ISSUE.search("AzureAD/SCIMReferenceCode#100")
    assert {"1.0", "1.2", "2.4", "5"} <= sections("entra-wire.md")
    cited = CITED.search("docs/reference/entra-wire.md §1.2, §1.6 and §3.4-3.5")
    assert cited is not None
    assert [n for pair in SECTION.findall(cited["sections"]) for n in pair if n] == ["1.2", "1.6", "3.4", "3.5"]


LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def test_relative_links_in_the_docs_resolve() -> None:
    """A link from README.md or docs/ to another file of the repository names a file that exists."""
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = match["target"]
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_architecture_page_and_the_readme_name_every_package() -> None:
    """The map stays whole: each package and top-level module of scim/ has its entry (docs/architecture.md)."""
    names = sorted(
        f"scim/{p.name}/" if p.is_dir() else f"scim/{p.name}"
        for p in (ROOT / "scim").iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file()) or (p.suffix == ".py" and p.name != "__init__.py")
    )
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [n for n in names if f"`{n}`" not in page] == []
    assert [n for n in names if n not in readme and n.removeprefix("scim/") not in readme] == []
