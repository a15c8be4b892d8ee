"""What a language module gives the speech layer besides its sentences: how it says a time, a day,
a date and a list. Each language (`en.py`, `es.py`) builds one `Grammar` of its own functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Grammar:
    time: Callable[[datetime], str]  # '9:30 AM' / 'a las nueve y media de la mañana'
    day: Callable[[date, date], str]  # (day, today) -> 'tomorrow' / 'el martes 8 de diciembre'
    date_words: Callable[[date], str]  # without the weekday: 'December 8th' / '8 de diciembre'
    weekdays: tuple[str, ...]  # Monday first
    join: Callable[[Sequence[str], str], str]  # (items, "or" | "and") -> 'a, b or c'
    at: Callable[[str, str], str]  # (day, times) -> 'tomorrow at 9 AM' / 'mañana a las nueve'
    with_provider: Callable[[str, str], str]  # (times, provider) -> '9 AM with Doctor Lee'
    group_or: str  # between groups of times of different days or providers: '; or '
    phone_tail: Callable[[str], str]  # 'the number ending in 4 2'

    def moment(self, local: datetime, today: date) -> str:
        """'tomorrow at 10 AM', 'el martes 1 de septiembre a las diez de la mañana'."""
        return self.at(self.day(local.date(), today), self.time(local))
