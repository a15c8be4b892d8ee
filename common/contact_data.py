"""Patient contact data in replies, masked for credentials that may not see it (SPEC §9: a tenant
API key issued without `patient_phones`). Pure: no I/O.

A service names where phones sit in its messages (message type → field); `masking` gives the
`Access.redact` that masks them wherever they appear in a reply, nested or repeated, so a field
added later to any reply is covered without touching a method."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from common.phones import masked


def masking(fields: Mapping[str, str]) -> Callable[[Any], Any]:
    """A redaction masking `field` of every message of type `full_name` (the mapping's items)."""

    def redact(reply: Any) -> Any:
        if not isinstance(reply, Message):
            return reply
        copy = type(reply)()
        copy.CopyFrom(reply)  # the servicer's object may be kept (an idempotent reply): never changed
        _mask(copy, fields)
        return copy

    return redact


def _mask(message: Message, fields: Mapping[str, str]) -> None:
    name = fields.get(message.DESCRIPTOR.full_name)
    if name is not None:
        setattr(message, name, masked(getattr(message, name)))
    for field, value in message.ListFields():
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry:
            items = value.values() if kind.fields_by_name["value"].message_type else ()
        elif field.is_repeated:
            items = value
        else:
            items = (value,)
        for item in items:
            _mask(item, fields)
