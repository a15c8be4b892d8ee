"""google.protobuf.Timestamp <-> aware UTC datetime, in one place.

Written out rather than Timestamp.FromDatetime/ToDatetime: those go through time tuples and
were the largest cost of ListBusy (hundreds of intervals per FindSlots).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_timestamp(value: datetime) -> Timestamp:
    """An aware datetime as a Timestamp (naive datetimes are refused: they have no instant)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: give it a timezone")
    delta = value - EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    return Timestamp(seconds=seconds, nanos=delta.microseconds * 1000)


def from_timestamp(stamp: Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime (microsecond precision)."""
    return EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


# What every service takes as "now": injectable, so tests move time instead of sleeping.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
