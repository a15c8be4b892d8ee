"""How many phrases of the date tables a grammar reads right, per table. Prints figures.

    .venv/bin/python -m bench.phrase_counts                   # this checkout's grammar
    .venv/bin/python -m bench.phrase_counts --grammar DIR     # another version's, for a before/after

DIR holds another version's `services/` (e.g. `git archive main services | tar -x -C DIR`). A
phrase reads right when it resolves as its oracle says on every "today" of the tables' test (about
200 days of 2026, late at night in Los Angeles). A grammar without languages reads every phrase
as English; the fallback's first load (about a second) is timed with the first phrase needing it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from typing import Any


def _reader(phrases: Any, language: str, day_first: bool) -> Any:
    reading_type = getattr(phrases, "Reading", None)
    if reading_type is None:
        return phrases.resolve
    reading = reading_type(language, day_first)
    return lambda phrase, now: phrases.resolve(phrase, now, reading)


def _answer(phrases: Any, read: Any, row: Any, today: date) -> Any:
    from tests.unit.phrase_tables import clinic_now
    from tests.unit.test_phrases_grammar import MISMATCH, PAST

    try:
        request = read(row.phrase, clinic_now(today))
    except phrases.PhraseError as error:
        return MISMATCH if type(error).__name__ == "DateMismatch" else "error"
    if request.in_past:
        return PAST
    said = (request.part_of_day, request.at, getattr(request, "after", None), getattr(request, "before", None))
    if said != (row.part, row.at, row.after, row.before):
        return "times"
    return request.start, request.end


def count(rows: list[Any], todays: list[date]) -> tuple[int, list[str]]:
    from services.availability import phrases

    wrong = []
    for row in rows:
        read = _reader(phrases, *row.reading)
        if any(_answer(phrases, read, row, today) != row.oracle(today) for today in todays):
            wrong.append(row.phrase)
    return len(rows) - len(wrong), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammar", help="a folder holding another version's services/ package")
    parser.add_argument("--wrong", action="store_true", help="list the phrases read wrong")
    args = parser.parse_args()
    if args.grammar:
        sys.path.insert(0, args.grammar)  # its services.availability before this checkout's
    from tests.unit.phrase_tables import ENGLISH, SPANISH, TODAYS, Row
    from tests.unit.test_phrases_grammar import TABLE

    first = [Row(phrase, oracle) for phrase, oracle in TABLE]
    for name, rows in (("English, first table", first), ("English, new table", ENGLISH), ("Spanish", SPANISH)):
        started = time.perf_counter()
        right, wrong = count(rows, TODAYS)
        print(f"{name}: {right} of {len(rows)} read right ({time.perf_counter() - started:.1f} s)")
        if args.wrong:
            print("  wrong: " + "; ".join(wrong))


if __name__ == "__main__":
    main()
