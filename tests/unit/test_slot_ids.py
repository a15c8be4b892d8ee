"""Slot ids: round trip, and forged, altered or foreign ids refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.availability.slot_ids import SlotIdError, SlotRef, decode, encode

KEY = b"k" * 32
REF = SlotRef("acme", "dr-lee", "cleaning", datetime(2030, 1, 7, 14, 30, tzinfo=UTC), 30)


def test_round_trip_and_opaque() -> None:
    slot_id = encode(REF, KEY)
    assert decode(slot_id, KEY, "acme") == REF
    assert "dr-lee" not in slot_id and "acme" not in slot_id
    assert encode(REF, KEY) == slot_id  # stable


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),  # signature altered
        lambda s: "s1." + encode(SlotRef("acme", "dr-kim", "cleaning", REF.start, 30), b"x" * 32).split(".", 1)[1],
        lambda s: s.replace("s1.", "s2.", 1),
        lambda s: "garbage",
        lambda s: "s1.!!!.???",
        lambda s: "",
    ],
)
def test_forged_or_malformed_ids_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SlotIdError):
        decode(mutate(encode(REF, KEY)), KEY, "acme")


def test_another_clinics_id_is_refused() -> None:
    with pytest.raises(SlotIdError, match="another clinic"):
        decode(encode(REF, KEY), KEY, "other")


def test_another_key_is_refused() -> None:
    with pytest.raises(SlotIdError, match="signature"):
        decode(encode(REF, KEY), b"z" * 32, "acme")
