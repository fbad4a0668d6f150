"""docs/configuration.md, rendered from the settings models: every environment variable
with its type, default and description (the docstring under each field).

``python -m strongroom.config.reference > docs/configuration.md`` writes it;
tests/unit/test_config_reference.py fails when the committed file differs, and when a
setting has no description, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from strongroom.config.access import OidcIssuer
from strongroom.config.legacy import ENV_NAMES, Path
from strongroom.config.settings import Settings

GENERATE = "python -m strongroom.config.reference > docs/configuration.md"


@dataclass(frozen=True)
class Setting:
    """One row of the reference: a variable (or an issuer object's key) and its field."""

    name: str
    path: Path
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class Group:
    """One table: a section (``kms.aws``) and the settings directly in it."""

    path: Path
    summary: str
    settings: list[Setting]


def groups() -> list[Group]:
    """Every section that holds settings, in the order of the models."""
    return list(_walk(Settings, ()))


def issuer_keys() -> list[Setting]:
    """The keys of one ``STRONGROOM_OIDC_ISSUERS`` object."""
    docs = docstrings(OidcIssuer)
    return [
        _setting(name, ("issuer", name), f, docs.get(name))
        for name, f in OidcIssuer.model_fields.items()
    ]


def docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The docstring under each field of ``model``'s own class body, by field name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.target.id] = after.value.value
    return found


def _walk(model: type[BaseModel], path: Path) -> Iterator[Group]:
    leaves: list[Setting] = []
    nested: list[tuple[Path, type[BaseModel]]] = []
    docs = docstrings(model)
    for name, f in model.model_fields.items():
        here = (*path, name)
        annotation = f.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((here, annotation))
            continue
        env = ENV_NAMES.get(here)
        if env is None:  # the environment could not set it: say so rather than skip it
            raise ValueError(f"settings field {'.'.join(here)} has no name in config/legacy.py")
        leaves.append(_setting(env, here, f, docs.get(name)))
    if leaves:
        yield Group(path, _text(model.__doc__), leaves)
    for sub_path, sub in nested:
        yield from _walk(sub, sub_path)


def _setting(name: str, path: Path, f: FieldInfo, doc: str | None) -> Setting:
    kind = _type(f.annotation)
    bounds = _bounds(f)
    return Setting(
        name=name,
        path=path,
        type=f"{kind}, {bounds}" if bounds else kind,
        default=_default(f),
        description=_text(doc or f.description),
    )


def _text(doc: str | None) -> str:
    # ``code`` (reStructuredText, as docstrings here write it) is `code` in Markdown.
    return " ".join(inspect.cleandoc(doc).replace("``", "`").split()) if doc else ""


def _type(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_type(a) for a in args if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"JSON list of {_plural(_type(args[0]))}"
    if origin is dict:
        return f"JSON object of {_plural(_type(args[1]))}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "issuer object"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in names:
        return names[annotation]
    if annotation is SecretStr:
        return "secret string"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    raise ValueError(f"no rendering for the type {annotation!r}")


def _plural(kind: str) -> str:
    if kind.startswith(("JSON", "one of")):
        return f"({kind})"
    return kind if kind.endswith("s") else f"{kind}s"


def _bounds(f: FieldInfo) -> str:
    found = []
    for m in f.metadata:
        for cls, attr, sign in (
            (at.Ge, "ge", ">="),
            (at.Gt, "gt", ">"),
            (at.Le, "le", "<="),
            (at.Lt, "lt", "<"),
            (at.MinLen, "min_length", "length >="),
            (at.MaxLen, "max_length", "length <="),
        ):
            if isinstance(m, cls):
                found.append(f"{sign} {_plain(getattr(m, attr))}")
        pattern = getattr(m, "pattern", None)
        if isinstance(pattern, str):
            found.append(f"matches `{pattern}`")
    return ", ".join(found)


def _default(f: FieldInfo) -> str:
    value = f.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, BaseModel | list | dict):
        dumped = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        return f"`{json.dumps(dumped, default=str)}`"
    return f"`{_plain(value)}`"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _row(s: Setting, first: str) -> str:
    cells = (first, s.type, s.default, s.description)
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


_INTRO = f"""\
# Configuration reference

<!-- Generated from src/strongroom/config/ by `{GENERATE}`.
     Do not edit: change the field's docstring and run that command again. -->

Every setting is an environment variable `STRONGROOM_<NAME>` (names are
case-insensitive). Lists and mappings are JSON, e.g.
`STRONGROOM_AUTH_METHODS='["api_key", "mtls"]'`; booleans are `true` or `false`.
"Unset" means the variable is absent. Each table is one section of the settings
(`src/strongroom/config/`); the *Field* under each variable is its place in
`Settings`, e.g. `settings.kms.aws.key_id`, and the same flat name
(`kms_aws_key_id`) is accepted as a keyword to `Settings(...)`.

Any setting may come from a file instead: `STRONGROOM_<NAME>_FILE` names a file whose
content (one trailing newline removed) is the value when `STRONGROOM_<NAME>` is
unset, so secrets can be mounted files (container secrets; docs/deploy.md).

A value that does not parse or breaks a rule stops every command with one line
naming the variable (`error: STRONGROOM_PORT: Input should be a valid integer`,
exit 2); a `STRONGROOM_` variable that names no setting is ignored with one warning
line (`warning: STRONGROOM_PROT is not a setting and is ignored (did you mean
STRONGROOM_PORT?)`). Where these settings matter in operation:
[operations.md](operations.md); README has the overview.
"""


def render() -> str:
    """The whole of docs/configuration.md."""
    out = [_INTRO]
    for group in groups():
        out += ["", f"## `{'.'.join(group.path)}`", ""]
        if group.summary:
            out += [group.summary, ""]
        out += ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
        for s in group.settings:
            first = f"`{s.name}`<br>Field `{'.'.join(s.path)}`"
            out.append(_row(s, first))
    out += [
        "",
        "## Issuer objects (`STRONGROOM_OIDC_ISSUERS`)",
        "",
        _text(OidcIssuer.__doc__) + " Each object's keys:",
        "",
        "| Key | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    out += [_row(s, f"`{s.path[-1]}`") for s in issuer_keys()]
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":  # pragma: no cover - `python -m`; main() is tested
    main()
