"""The operator documentation names only what exists, and names all of it: every API
route and CLI command is in README, every documented command and variable exists,
every security rule is in docs/security-events.md, every relative link resolves."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from starlette.routing import Route
from typer.core import TyperGroup

from strongroom.api.routers import ROUTERS
from strongroom.audit.actions import SecurityRule
from strongroom.audit.events import SEVERITY
from strongroom.cli import app
from strongroom.config.legacy import (
    CLIENT_VARIABLES,
    ENV_NAMES,
    FILE_SUFFIX,
    NOT_SETTINGS_PREFIXES,
)

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [
    README,
    ROOT / "CHANGELOG.md",
    ROOT / "SECURITY.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
# Named in the documentation as what is not a setting (ignored with a warning).
NOT_SETTINGS = {"STRONGROOM_MAX_USER_ID_LENGTH", "STRONGROOM_PROT", "STRONGROOM_WRITE_OPENAPI"}
# Upper-case names with an underscore that are constants or other programs' (not settings).
OTHER_NAMES = {
    "AWS_PROFILE",
    "CKM_AES_GCM",
    "HTTPS_PROXY",
    "O_APPEND",
    "SOFTHSM2_CONF",
    "SYMMETRIC_DEFAULT",
    "TABLE_PRIVILEGES",
    *("EXPLICIT_ONLY", "ROTATE_PROJECT", "ROTATE_KEY", "ROTATE_PROVIDER"),
}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _routes() -> Iterator[tuple[str, str]]:
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, Route)  # API operations, and plain pages (/s)
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                yield method, route.path


def _commands(group: TyperGroup, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def _cli() -> TyperGroup:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return group


def _params(text: str) -> str:
    # {userId}, {keyId} and {id} are the same path parameter to a reader.
    return re.sub(r"\{[^}/]*\}", "{}", text)


def test_every_api_route_is_in_the_readme() -> None:
    text = _params(_read(README))
    missing = [f"{m} {p}" for m, p in _routes() if f"`{m} {_params(p)}`" not in text]
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    text = _read(README)
    assert [c for c in _commands(_cli()) if f"`strongroom {c}" not in text] == []


# A command as written: at the start of a code span or of a line (in code blocks).
COMMAND = re.compile(r"(?:^[ \t]*|`)strongroom\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?", re.M)


def test_commands_are_found_where_documents_write_them() -> None:
    found = {" ".join(filter(None, m.groups())) for m in COMMAND.finditer(_read(README))}
    assert {"serve", "kms rewrap", "audit public-key", "db grant-app"} <= found
    assert not COMMAND.search("bao policy write strongroom strongroom.hcl")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_a_document_names_exists(doc: Path) -> None:
    cli = _cli()
    wrong = []
    for m in COMMAND.finditer(_read(doc)):
        first, second = m.groups()
        command = cli.commands.get(first)
        group = command.commands if isinstance(command, TyperGroup) else None
        if command is None or (group is not None and second and second not in group):
            wrong.append(m.group(0))
    assert wrong == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_variable_a_document_names_is_a_setting(doc: Path) -> None:
    known = set(ENV_NAMES.values()) | NOT_SETTINGS | CLIENT_VARIABLES
    known |= {n + FILE_SUFFIX for n in ENV_NAMES.values()}  # the value from a file
    named = set(re.findall(r"STRONGROOM_[A-Z0-9_]*[A-Z0-9]", _read(doc)))
    assert sorted(n for n in named - known if not f"{n}_".startswith(NOT_SETTINGS_PREFIXES)) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_short_setting_name_is_a_setting(doc: Path) -> None:
    # README and the docs often drop the prefix: `KMS_AWS_KEY_ID`.
    known = set(ENV_NAMES.values()) | NOT_SETTINGS | CLIENT_VARIABLES
    named = set(re.findall(r"(?<![A-Z0-9_])([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])", _read(doc)))
    short = {n for n in named if not n.startswith("STRONGROOM_")} - OTHER_NAMES
    assert sorted(n for n in short if f"STRONGROOM_{n}" not in known) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _read(doc))
    local = [t for t in targets if not re.match(r"^[a-z]+:", t)]
    assert [t for t in local if not (doc.parent / t).exists()] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_blocks_parse(doc: Path) -> None:
    for block in re.findall(r"```python\n(.*?)```", _read(doc), flags=re.S):
        ast.parse(block)


def test_every_security_rule_is_documented_with_its_severity() -> None:
    text = _read(ROOT / "docs" / "security-events.md")
    for rule in SecurityRule:
        rows = [line for line in text.splitlines() if line.startswith(f"| `{rule.value}` |")]
        assert len(rows) == 1, rule
        assert f"| {SEVERITY[rule].value} |" in rows[0], rule


def test_the_license_is_the_one_pyproject_declares() -> None:
    declared = tomllib.loads(_read(ROOT / "pyproject.toml"))["project"]["license"]
    assert declared == {"text": "Apache-2.0"}
    text = _read(ROOT / "LICENSE")
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
