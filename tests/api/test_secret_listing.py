"""Listing (secrets/listing.py): names the caller may not read never appear, the
metadata filter ANDs its pairs, cursors page through everything once."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.access.guard import RequestContext
from strongroom.access.models import Principal
from strongroom.access.permissions import Permission
from strongroom.access.rbac import Grant, Scope
from strongroom.context import Actor
from strongroom.secrets.service import WriteRequest
from tests.api.conftest import App
from tests.api.secret_helpers import call, code, key_with_grants, put

SEGS = ("a", "b", "c")
# Every path of 1 to 3 segments over a small alphabet: grants overlap them in every way.
PATHS = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(SEGS, repeat=n)]


async def _populate(app: App) -> None:
    actor = Actor("test", "default", "populate", None)
    for i, p in enumerate(PATHS):
        await app.services.secrets.write(actor, p, WriteRequest({"v": str(i)}))


async def _list_all(app: App, who: Principal, prefix: str = "", limit: int = 7) -> list[str]:
    ctx = RequestContext(Actor(who.id, "default", "list", None), who)
    reach = app.services.guard.reach(ctx, Permission.SECRETS_LIST, Permission.SECRETS_READ)
    out: list[str] = []
    cursor = None
    while True:
        page = await app.services.secret_listing.list(
            ctx.actor, reach, reach.prefixes, prefix, (), cursor, limit
        )
        out += page.paths
        if page.cursor is None:
            return out
        cursor = page.cursor


RESOURCES = st.one_of(
    st.none(),
    st.builds(
        lambda head, rest: "/".join([*head, *(["*"] if rest else [])]) or "*",
        st.lists(st.sampled_from([*SEGS, "+"]), max_size=3),
        st.booleans(),
    ),
)
GRANTS = st.lists(
    st.builds(
        Grant,
        st.sampled_from(["secrets:read", "secrets:list", "secrets:*", "*", "keys:read"]),
        st.sampled_from([Scope.TENANT, Scope.OWN]),
        RESOURCES,
    ),
    max_size=4,
)


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(grants=GRANTS, prefix=st.sampled_from(["", "a", "a/", "b/c", "c/a/"]))
async def test_listing_shows_exactly_what_the_caller_may_list_and_read(
    app: App, grants: list[Grant], prefix: str
) -> None:
    if not getattr(app, "_populated", False):
        await _populate(app)
        app._populated = True  # type: ignore[attr-defined]
    who = Principal("prop", "default", ("custom",), frozenset(grants) or frozenset({Grant("x:y")}))
    expected = [
        p
        for p in sorted(PATHS)
        if p.startswith(prefix)
        and who.can("secrets:read", "default", resource=p)
        and who.can("secrets:list", "default", resource=p)
    ]
    assert await _list_all(app, who, prefix) == expected


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_route_filters_by_grants_and_metadata(app: App) -> None:
    rng = random.Random(7)
    for i in range(30):
        team = "billing" if i % 2 else "shop"
        path = f"apps/{team}/s{i:02d}"
        assert (await put(app, path, {"v": "x"})).status_code == 200
        env = rng.choice(["prod", "dev"])
        meta = {"customMetadata": {"env": env, "team": team}}
        assert (await call(app, "PATCH", f"/metadata/{path}", json=meta)).status_code == 200
    key = await key_with_grants(
        app,
        "billing-lister",
        [
            {"permission": "secrets:read", "resource": "apps/billing/*"},
            {"permission": "secrets:list"},
        ],
    )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "4", "meta.env": "prod", **({"cursor": cursor} if cursor else {})}
        r = await call(app, "GET", "", key=key, params=params)
        assert r.status_code == 200, r.text
        seen += r.json()["keys"]
        cursor = r.json()["cursor"]
        if cursor is None:
            break
    admin = await call(app, "GET", "", params={"meta.env": "prod", "meta.team": "billing"})
    assert seen == admin.json()["keys"] and seen  # AND of the two pairs, admin sees all
    assert all(p.startswith("apps/billing/") for p in seen)
    r = await call(app, "GET", "", params={"limt": "5"})
    assert r.status_code == 400 and code(r) == "REQ004"
    r = await call(app, "GET", "", params={"cursor": "garbage"})
    assert r.status_code == 400 and code(r) == "REQ004"
    too_many = {f"meta.k{i}": "v" for i in range(11)}
    assert (await call(app, "GET", "", params=too_many)).status_code == 400
    # A cursor is bound to its caller: another principal cannot use it.
    r = await call(app, "GET", "", key=key, params={"limit": "1"})
    other = await call(app, "GET", "", params={"cursor": r.json()["cursor"]})
    assert other.status_code == 400


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_caller_without_list_is_refused(app: App) -> None:
    key = await key_with_grants(app, "reader", [{"permission": "secrets:read"}])
    r = await call(app, "GET", "", key=key)
    assert r.status_code == 403
