"""Where SMS go: Twilio through the official `twilio` library, or a local sender when no
credentials are configured (so `make run` works offline)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from common.logs import mask_phone
from common.timestamps import utc_now
from services.notification.metrics import SMS_FAILED, SMS_SENT
from services.notification.sms_errors import Outcome, classify

log = logging.getLogger("services.notification.sender")


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_sid: str = ""
    http_status: int | None = None
    error_code: str = ""
    error_message: str = ""


class Sender(Protocol):
    async def send(self, to: str, body: str) -> SendResult: ...

    async def find_sent(self, to: str, body: str, since: datetime) -> list[str]:
        """Ids of messages with this body accepted for `to` since `since`, oldest first (to find an
        earlier attempt that died before its outcome was recorded); [] when none or it cannot tell."""
        ...

    async def close(self) -> None: ...


class BaseUrlHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Sends Twilio API requests to another scheme+host (a local imitation, a proxy), same paths."""

    def __init__(self, base_url: str | None) -> None:
        super().__init__()  # exactly one request per call: no max_retries (it re-POSTs on 5xx)
        self.base = urlsplit(base_url) if base_url else None

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.base is not None:
            parts = urlsplit(url)
            url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        auth = kwargs.pop("auth", None)
        if auth is not None:
            # The library would build aiohttp.BasicAuth, deprecated in aiohttp 3.14: same header, current API.
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": aiohttp.encode_basic_auth(*auth)}
        return await super().request(method, url, **kwargs)


# When an earlier attempt's outcome is unknown, the number's messages are read newest first, a
# page at a time, back to when ours was made (a busy number may have had many texts since: its
# lease ran out first), and never more than LOOKBACK of them.
PAGE_SIZE = 50
LOOKBACK = 1000
# Twilio's clock and ours differ a little: a message it dates slightly before ours was made counts.
CLOCK_SKEW = timedelta(minutes=1)


class TwilioSender:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str = "",
        messaging_service_sid: str = "",
        base_url: str | None = None,
        status_callback: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.http = BaseUrlHttpClient(base_url)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        self.sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid} if messaging_service_sid else {"from_": from_number}
        )
        self.status_callback = status_callback
        self.timeout = timeout

    async def send(self, to: str, body: str) -> SendResult:
        return counted(await self._send(to, body), "twilio")

    async def _send(self, to: str, body: str) -> SendResult:
        extra: dict[str, str] = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            # The async client ignores its own timeout setting: bound the call here.
            message = await asyncio.wait_for(
                self.client.messages.create_async(to=to, body=body, **self.sender, **extra), self.timeout
            )
        except TwilioRestException as error:
            return SendResult(
                classify(error.status, error.code), http_status=error.status,
                error_code=str(error.code or ""), error_message=str(error.msg)[:300],
            )  # fmt: skip
        except TwilioException as error:
            return SendResult(Outcome.AMBIGUOUS, error_message=f"{type(error).__name__}: {error}"[:300])
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            return SendResult(Outcome.AMBIGUOUS, error_message=f"{type(error).__name__}"[:300])
        return SendResult(Outcome.SENT, provider_sid=str(message.sid), http_status=201)

    async def find_sent(self, to: str, body: str, since: datetime) -> list[str]:
        """Ids of messages with this body Twilio took for `to` since `since`, oldest first."""
        early = since - CLOCK_SKEW
        same: list[str] = []
        try:
            async with asyncio.timeout(self.timeout):
                messages = await self.client.messages.stream_async(to=to, limit=LOOKBACK, page_size=PAGE_SIZE)
                async for message in messages:  # newest first
                    if message.date_created is not None and message.date_created < early:
                        break
                    if message.body == body:
                        same.append(str(message.sid))
        except TimeoutError:
            pass  # what the pages read so far found still counts; nothing found: the caller sends
        except (TwilioException, aiohttp.ClientError, OSError):
            return []  # cannot tell: the caller sends (at least once beats never)
        return same[::-1]

    async def close(self) -> None:
        await self.http.close()


def counted(result: SendResult, sender: str) -> SendResult:
    if result.outcome is Outcome.SENT:
        SMS_SENT.labels(sender).inc()
    else:
        SMS_FAILED.labels(result.outcome.value, result.error_code or "none").inc()
    return result


@dataclass(frozen=True)
class DevText:
    to: str
    body: str
    provider_sid: str
    sent_at: datetime


# Enough for a developer's session; the oldest texts drop out first.
DEV_INBOX_SIZE = 100


class LocalSender:
    """No Twilio credentials: keep the text in a bounded in-memory inbox (the developer reads it
    at `GET /dev/sms` or in `make run`'s output) and log, without the body, that it was not sent."""

    def __init__(self, capacity: int = DEV_INBOX_SIZE) -> None:
        self.inbox: deque[DevText] = deque(maxlen=capacity)

    async def send(self, to: str, body: str) -> SendResult:
        sid = f"LOCAL{uuid.uuid4().hex[:28]}"
        self.inbox.append(DevText(to, body, sid, utc_now()))
        log.info(
            "LOCAL SMS SENDER: not sent to any phone (set TWILIO_* to send for real)",
            extra={"to": mask_phone(to), "chars": len(body), "provider_sid": sid},
        )
        return counted(SendResult(Outcome.SENT, provider_sid=sid), "local")

    async def find_sent(self, to: str, body: str, since: datetime) -> list[str]:
        return [t.provider_sid for t in self.inbox if t.to == to and t.body == body and t.sent_at >= since]

    def texts(self, limit: int = 0) -> list[DevText]:
        """Newest first; `limit` 0 = all kept."""
        newest = list(reversed(self.inbox))
        return newest[:limit] if limit > 0 else newest

    async def close(self) -> None:
        return None
