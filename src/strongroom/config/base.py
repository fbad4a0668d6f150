"""The base of every settings section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A settings section. Unknown names are refused: within a section a typo would
    otherwise be silently ignored (unknown STRONGROOM_ variables still are). The docstring
    under each field is its description (config/reference.py renders them into
    docs/configuration.md)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
