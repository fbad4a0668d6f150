"""Settings errors as the lines an operator reads: one per problem, naming the
environment variable, never a traceback."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import SettingsError

from strongroom.config.legacy import ENV_NAMES


def describe_error(exc: ValidationError | SettingsError) -> str:
    """``error: STRONGROOM_PORT: Input should be a valid integer`` lines for an error
    raised by ``Settings()``. Input values are left out: they may be secrets."""
    if isinstance(exc, SettingsError):
        return f"error: {exc}"
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        for end in range(len(loc), 0, -1):
            name = ENV_NAMES.get(tuple(str(p) for p in loc[:end]))
            if name is not None:
                rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[end:])
                lines.append(f"error: {name}{rest}: {msg}")
                break
        else:  # a rule over several settings: its message names them
            lines.append(f"error: {msg}")
    return "\n".join(lines)


def describe_error_line(exc: ValidationError | SettingsError) -> str:
    """Every problem on one line: ``error: invalid settings: A: ...; B: ...``."""
    problems = (line.removeprefix("error: ") for line in describe_error(exc).splitlines())
    return f"error: invalid settings: {'; '.join(problems)}"
