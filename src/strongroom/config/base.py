"""The base of every settings section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A settings section. Unknown names are refused: within a section a typo would
    otherwise be silently ignored (unknown STRONGROOM_ variables still are). The docstring
    under each field is its description: config/reference.py reads them from the source
    into docs/configuration.md (pydantic's use_attribute_docstrings would parse every
    module's source at import, which costs each command's start-up)."""

    model_config = ConfigDict(extra="forbid")
