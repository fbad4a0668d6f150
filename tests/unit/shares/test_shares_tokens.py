"""Share tokens: 256 random bits, a prefix for secret scanners, a checksum that turns
typos into 'not found' without a lookup, a keyed hash as the only stored form."""

from __future__ import annotations

from strongroom.secrets import shares_tokens as tokens


def test_tokens_are_well_formed_and_distinct() -> None:
    made = {tokens.generate() for _ in range(200)}
    assert len(made) == 200
    assert all(t.startswith("srs_") and len(t) == 4 + 52 + 1 + 7 for t in made)
    assert all(tokens.well_formed(t) for t in made)


def test_typos_and_foreign_text_are_not_well_formed() -> None:
    t = tokens.generate()
    flipped = t[:10] + ("a" if t[10] != "a" else "b") + t[11:]
    for bad in (flipped, t[:-1], t + "a", t.upper(), "srs_", "", "srk_" + t[4:]):
        assert not tokens.well_formed(bad)


def test_digest_is_keyed() -> None:
    t = tokens.generate()
    assert tokens.digest(b"k1" * 16, t) != tokens.digest(b"k2" * 16, t)
    assert len(tokens.digest(b"k" * 32, t)) == 32 and t.encode() not in tokens.digest(b"k", t)


def test_share_ids_are_not_tokens() -> None:
    sid = tokens.new_id()
    assert len(sid) == 16 and not tokens.well_formed(sid)
