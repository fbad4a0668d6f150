"""docs/configuration.md is what config/reference.py renders from the settings models,
and every setting in it has a type, a default and a description."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from strongroom.config import reference
from strongroom.config.base import Section
from strongroom.config.legacy import ENV_NAMES

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_committed_reference_is_what_the_generator_renders() -> None:
    assert DOC.read_text(encoding="utf-8") == reference.render(), (
        f"docs/configuration.md is out of date: run `{reference.GENERATE}`"
    )


def test_every_environment_variable_is_in_the_reference_once() -> None:
    names = [s.name for g in reference.groups() for s in g.settings]
    assert sorted(names) == sorted(ENV_NAMES.values())
    text = reference.render()
    for name in names:
        assert text.count(f"| `{name}`<br>") == 1, name


def test_every_setting_and_section_has_a_description() -> None:
    settings = [s for g in reference.groups() for s in g.settings] + reference.issuer_keys()
    undocumented = [".".join(s.path) for s in settings if not s.description]
    assert undocumented == [], "add a docstring under each of these fields"
    assert [g.path for g in reference.groups() if not g.summary] == []
    assert all(s.type and s.default for s in settings)


def test_a_field_without_a_docstring_has_no_description() -> None:
    # What the test above relies on: descriptions come only from the docstrings.
    class Widget(Section):
        size: int = Field(default=3, ge=1)
        """How big."""
        colour: str = "red"

    docs = reference.docstrings(Widget)
    described = {
        name: reference._setting(name, ("widget", name), f, docs.get(name))
        for name, f in Widget.model_fields.items()
    }
    assert described["size"].description == "How big."
    assert described["size"].type == "integer, >= 1"
    assert described["size"].default == "`3`"
    assert described["colour"].description == ""


def test_a_field_the_environment_cannot_set_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    names = dict(ENV_NAMES)
    del names[("server", "port")]
    monkeypatch.setattr(reference, "ENV_NAMES", names)
    with pytest.raises(ValueError, match=r"server\.port has no name in config/legacy\.py"):
        reference.groups()


@pytest.mark.parametrize(
    ("name", "kind", "default"),
    [
        ("STRONGROOM_KMS", "one of `local`, `aws`, `openbao`, `pkcs11`", "`local`"),
        ("STRONGROOM_KMS_PKCS11_PIN", "secret string", "unset"),
        ("STRONGROOM_MAX_BODY_BYTES", "integer, >= 1024", "`8388608`"),
        ("STRONGROOM_OTEL_SAMPLE_RATIO", "number, >= 0, <= 1", "`1`"),
        ("STRONGROOM_AUTH_METHODS", "JSON list of (one of `api_key`, `bearer`, `mtls`)", None),
        ("STRONGROOM_TLS_CERT_FILE", "path", "unset"),
        ("STRONGROOM_SCHEDULER_ENABLED", "boolean", "`true`"),
    ],
)
def test_types_and_defaults_read_as_an_operator_writes_them(
    name: str, kind: str, default: str | None
) -> None:
    found = {s.name: s for g in reference.groups() for s in g.settings}[name]
    assert found.type == kind
    if default is not None:
        assert found.default == default


def test_the_module_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    reference.main()
    assert capsys.readouterr().out == reference.render()
