"""The log handler writes the lines of one event-loop round together, never later than that round."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from common.logs import CoalescingStreamHandler, JsonFormatter


class Stream:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass

    def messages(self) -> list[str]:
        return [json.loads(line)["msg"] for text in self.writes for line in text.splitlines()]


@pytest.fixture
def stream() -> Iterator[Stream]:
    stream = Stream()
    handler = CoalescingStreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    log = logging.getLogger("test.coalescing")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield stream
    log.removeHandler(handler)


def test_without_a_loop_each_line_is_written_at_once(stream: Stream) -> None:
    log = logging.getLogger("test.coalescing")
    log.info("one")
    assert stream.messages() == ["one"]
    log.info("two")
    assert stream.writes[-1].endswith("\n") and stream.messages() == ["one", "two"]


async def test_lines_of_one_round_go_in_one_write_when_the_round_ends(stream: Stream) -> None:
    log = logging.getLogger("test.coalescing")

    async def request(n: int) -> None:
        log.info(f"a{n}")
        await asyncio.sleep(0)
        log.info(f"b{n}")

    tasks = [asyncio.create_task(request(n)) for n in range(5)]
    log.info("started")
    assert stream.writes == []  # this round is not over yet
    await asyncio.gather(*tasks)
    await asyncio.sleep(0)
    assert sorted(stream.messages()) == sorted(["started", *(f"a{n}" for n in range(5)), *(f"b{n}" for n in range(5))])
    assert len(stream.writes) < 11  # several lines per write


async def test_a_line_from_another_thread_is_written_at_once_after_those_waiting(stream: Stream) -> None:
    log = logging.getLogger("test.coalescing")
    log.info("loop")
    thread = threading.Thread(target=lambda: log.info("thread"))
    thread.start()
    thread.join()
    assert stream.messages() == ["loop", "thread"]


async def test_flush_writes_what_waits(stream: Stream) -> None:
    log = logging.getLogger("test.coalescing")
    log.info("waiting")
    assert stream.writes == []
    for handler in log.handlers:
        handler.flush()
    assert stream.messages() == ["waiting"]
