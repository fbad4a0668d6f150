"""Per-item results for decrypt and rewrap batches (opt-in, Vault style).

The default batch is all or nothing: one bad item fails the request with its index.
A caller that opts in gets, per item in order, its result or the error that names it
(the same codes the default path answers: ``ENC001`` for an item that does not open,
``KEY004`` for one under a destroyed version, ``REQ001`` for one too large). What is
not about one item (no key, a key pending deletion, too many items, a context too
long, the KMS failing) still fails the whole request, as it does by default.

Kept apart from keys/service.py so that the default path, the benchmarked one, does
no work for this: the edge chooses one method or the other.

One audit record per request, like the default path: outcome ``success`` when any
item succeeded (``failure`` when none did), ``item_count`` the items presented, and
``detail`` counting ``succeeded``, ``failed`` and the failures per ``codes``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from strongroom.audit.actions import KeyAction
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.crypto.sizes import max_text_length
from strongroom.errors import InvalidCiphertext, PayloadTooLarge, StrongroomError
from strongroom.keys.cipher import StaleKeyInfo
from strongroom.keys.core import KeyCore
from strongroom.observability.metrics import CRYPTO_ITEMS

T = TypeVar("T")
Results = list[T | StrongroomError]


class PerItem:
    def __init__(self, core: KeyCore) -> None:
        self.core = core

    async def decrypt(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> Results[str]:
        async def op() -> Results[str]:
            opened = await self._open(actor, user_id, data, context)
            return [_text(r, i) if isinstance(r, bytes) else r for i, r in enumerate(opened)]

        return await self._audited(actor, KeyAction.DECRYPT, user_id, len(data), op)

    async def rewrap(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> tuple[Results[str], int]:
        """The items that open are re-encrypted under the current version (one data
        key, as by default); the others keep their errors in place."""
        core = self.core
        version = 0

        async def op() -> Results[str]:
            nonlocal version
            opened = await self._open(actor, user_id, data, context)
            info = await core.usable(actor, user_id, fresh=True)
            version = info.current_version
            good = [r for r in opened if isinstance(r, bytes)]
            ctx = core.check_context(context)
            sealed = iter(await core.cipher.encrypt(info, good, ctx) if good else ())
            return [next(sealed) if isinstance(r, bytes) else r for r in opened]

        results = await self._audited(actor, KeyAction.REWRAP, user_id, len(data), op)
        return results, version

    async def _open(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> Results[bytes]:
        core = self.core
        core.check_batch(data)
        ctx = core.check_context(context)
        info = await core.usable(actor, user_id)
        texts, too_large = self._within_size(
            data,
            max_text_length(
                core.settings.ciphertext_prefix, info.suite, core.settings.max_item_bytes
            ),
        )
        try:
            opened = await core.cipher.decrypt_each(info, texts, ctx)
        except StaleKeyInfo:  # another replica rotated since our metadata was cached
            info = await core.usable(actor, user_id, fresh=True)
            opened = await core.cipher.decrypt_each(info, texts, ctx, fresh=True)
        for index, error in too_large.items():
            opened[index] = error
        return opened

    @staticmethod
    def _within_size(data: list[str], limit: int) -> tuple[list[str], dict[int, StrongroomError]]:
        """The texts to open, an oversized one replaced by an empty text (which fails
        to open at once, no work) and its own ``REQ001`` error kept by index."""
        if not data or max(map(len, data)) <= limit:
            return data, {}
        too_large: dict[int, StrongroomError] = {
            i: PayloadTooLarge("item too large", index=i, limit=limit)
            for i, text in enumerate(data)
            if len(text) > limit
        }
        return ["" if i in too_large else t for i, t in enumerate(data)], too_large

    async def _audited(
        self,
        actor: Actor,
        action: KeyAction,
        user_id: str,
        count: int,
        op: Callable[[], Awaitable[Results[T]]],
    ) -> Results[T]:
        """A whole-request failure is recorded by ``audited`` as by default; otherwise
        one record counting successes and failures, released with the response."""
        core = self.core
        async with core.audited(actor, action, user_id, count):
            try:
                results = await op()
            except StrongroomError:
                CRYPTO_ITEMS.labels(action, "failure").inc(count)
                raise
        codes = Counter(r.code for r in results if isinstance(r, StrongroomError))
        failed = sum(codes.values())
        succeeded = count - failed
        detail = {"succeeded": succeeded, "failed": failed, "codes": dict(sorted(codes.items()))}
        outcome = Outcome.SUCCESS if succeeded else Outcome.FAILURE
        CRYPTO_ITEMS.labels(action, "failure").inc(failed)
        await core.audit.append_before_release(
            core.event(actor, action, outcome, user_id, count, detail),
            lambda ok: CRYPTO_ITEMS.labels(action, "success" if ok else "failure").inc(succeeded),
        )
        return results


def _text(raw: bytes, index: int) -> str | StrongroomError:
    try:
        return raw.decode()
    except UnicodeDecodeError:  # made offline with the public key, not text
        return InvalidCiphertext(index=index)
