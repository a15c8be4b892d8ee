"""Booking-rule limits every service agrees on (the clinic file is checked against them, and
reservation enforces them whatever a clinic's stored rules say)."""

from __future__ import annotations

DEFAULT_HOLD_MINUTES = 10  # how long a held slot waits for confirmation unless the clinic says otherwise
MAX_HOLD_MINUTES = 15  # the server's cap, whatever a clinic asks for
