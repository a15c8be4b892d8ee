"""Messages per second through the SMS relay and the real `twilio` library to a local imitation
of Twilio. Prints figures; asserts nothing.

    .venv/bin/python -m bench.notification
"""

from __future__ import annotations

import asyncio
import time

from bench.common import bench_database
from common.db import create_pool
from devkit.twilio_fake import fake_twilio
from services.notification.relay import MessageRelay
from services.notification.senders import TwilioSender

MESSAGES = 2000


async def main() -> None:
    async with bench_database() as url, fake_twilio() as twilio:
        pool = await create_pool(url, max_size=20)
        await pool.executemany(
            "INSERT INTO notification.messages (tenant_id, dedupe_key, kind, to_phone, body, status) "
            "VALUES ('bench', $1, 'REMINDER', '+12125550142', $2, 'QUEUED')",
            [
                (f"k{n}", f"Reminder {n}: your visit is tomorrow at 10:00 AM. Reply STOP to opt out.")
                for n in range(MESSAGES)
            ],
        )
        for workers, latency in ((1, 0.0), (2, 0.0), (2, 0.05)):
            await pool.execute("UPDATE notification.messages SET status = 'QUEUED', claimed_until = NULL")
            twilio.requests.clear()
            twilio.delay = latency
            sender = TwilioSender("AC" + "0" * 32, "token", from_number="+12125550100", base_url=twilio.url)
            relays = [MessageRelay(pool, sender, batch=50) for _ in range(workers)]

            async def drain(relay: MessageRelay) -> None:
                while await relay.run_once():
                    pass

            started = time.perf_counter()
            await asyncio.gather(*(drain(r) for r in relays))
            elapsed = time.perf_counter() - started
            await sender.close()
            print(
                f"{workers} relay worker(s), Twilio answering in {latency * 1000:.0f} ms: "
                f"{MESSAGES / elapsed:.0f} messages/s ({len(twilio.requests)} requests for {MESSAGES} messages)"
            )
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
