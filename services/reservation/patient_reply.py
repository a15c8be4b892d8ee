"""A patient's inbound text as the reply handlers see it, and the words they understand (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

YES_WORDS = frozenset({"Y", "YES", "CONFIRM", "SI", "SÍ", "CONFIRMAR"})
NO_WORDS = frozenset({"N", "NO"})
CANCEL_WORDS = frozenset({"C", "CANCEL", "CANCELAR"})


@dataclass(frozen=True)
class PatientReply:
    """One inbound text, with its first word normalised (upper case, punctuation stripped)."""

    tenant_id: str
    phone: str
    body: str
    message_sid: str
    word: str
    received_at: datetime


def first_word(body: str) -> str:
    """'yes!' → 'YES', ' c ' → 'C', '' → ''."""
    words = body.strip().split()
    return words[0].strip(".,!?¡¿:;\"'").upper() if words else ""
