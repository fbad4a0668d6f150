"""Rotation hooks: mint a key's new value upstream, within a bounded time.

A hook is named by the key and configured by the operator (``API_KEYS_ROTATION_HOOKS``,
config/credentials.py), never by the caller: a caller choosing a command or URL would
be remote code execution or a request forgery. A command runs without a shell, gets
the current value on stdin (providers that rotate with the old key need it; argv and
the environment are visible to other processes, stdin is not) and prints the new
value as its only line; a webhook gets the key's names and answers
``{"value": "..."}``. Anything else is a failure with the step it failed at, and the
caller leaves the current value serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import httpx
import structlog

from strongroom.config import RotationHook

log = structlog.get_logger("strongroom.credentials")


class HookError(Exception):
    """``step``: ``start``, ``exit``, ``timeout``, ``output`` or ``http``."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


async def run_hook(
    hook: RotationHook, project: str, key: str, provider: str, current: bytes
) -> str:
    """The new value's text as the hook gave it (checked by the caller)."""
    if hook.command is not None:
        return await _command(hook, project, key, provider, current)
    return await _webhook(hook, project, key, provider)


async def _command(
    hook: RotationHook, project: str, key: str, provider: str, current: bytes
) -> str:
    assert hook.command is not None
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ROTATE_PROJECT": project,
        "ROTATE_KEY": key,
        "ROTATE_PROVIDER": provider,
    }
    try:
        proc = await asyncio.create_subprocess_exec(
            *hook.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a timeout kills what it started too
        )
    except OSError:
        raise HookError("start") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(current), hook.timeout_seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        await proc.wait()
        raise HookError("timeout") from None
    if proc.returncode != 0:
        log.warning("rotation_hook_failed", step="exit", returncode=proc.returncode)
        raise HookError("exit")
    return _one_line(out)


async def _webhook(hook: RotationHook, project: str, key: str, provider: str) -> str:
    assert hook.url is not None
    body = {"project": project, "key": key, "provider": provider}
    try:
        async with httpx.AsyncClient(timeout=hook.timeout_seconds, follow_redirects=False) as c:
            r = await asyncio.wait_for(c.post(hook.url, json=body), hook.timeout_seconds)
    except TimeoutError:
        raise HookError("timeout") from None
    except httpx.TimeoutException:
        raise HookError("timeout") from None
    except httpx.HTTPError:
        raise HookError("http") from None
    if not 200 <= r.status_code < 300:
        log.warning("rotation_hook_failed", step="http", status=r.status_code)
        raise HookError("http")
    try:
        value = r.json()["value"]
    except (ValueError, KeyError, TypeError):
        raise HookError("output") from None
    if not isinstance(value, str):
        raise HookError("output")
    return value


def _one_line(out: bytes) -> str:
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise HookError("output") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise HookError("output")
    return lines[0].strip()
