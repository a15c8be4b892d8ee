"""KeepToolReply: the gateway replicas' shared memory of tool-call answers.

Each gateway keeps answers in its own memory too; this is what makes a Vapi retry that lands on
another replica get the same bytes. There is no lookup before a tool runs (a round trip on every
tool call that changes something): a retry runs again, every change it asks for is answered from
its idempotency key without being done twice, and keeping its answer hands back the first one.
SQL is kept here with the RPC it serves.
"""

from __future__ import annotations

import asyncpg
import grpc

from booking.reservation.v1 import reservation_pb2 as pb
from common.grpc_errors import invalid
from services.reservation.checks import require

MAX_KEY = 300
MAX_REPLY = 65_536

KEPT = "SELECT reply FROM reservation.tool_replies WHERE tenant_id = $1 AND reply_key = $2"
# The first answer wins: a concurrent second keeper reads the first one back.
KEEP = """
WITH kept AS (
    INSERT INTO reservation.tool_replies (tenant_id, reply_key, reply) VALUES ($1, $2, $3)
    ON CONFLICT (tenant_id, reply_key) DO NOTHING RETURNING reply
)
SELECT reply FROM kept
UNION ALL
SELECT reply FROM reservation.tool_replies WHERE tenant_id = $1 AND reply_key = $2
LIMIT 1
"""


class ToolReplyRpcs:
    pool: asyncpg.Pool

    async def KeepToolReply(
        self, request: pb.KeepToolReplyRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeepToolReplyResponse:
        await _check(context, request.tenant_id, request.key)
        if len(request.reply) > MAX_REPLY:
            await invalid(context, f"reply: longer than {MAX_REPLY} characters")
        kept = await self.pool.fetchval(KEEP, request.tenant_id, request.key, request.reply)
        if kept is None:  # the first keeper's row is not visible to this snapshot yet: read again
            kept = await self.pool.fetchval(KEPT, request.tenant_id, request.key)
        return pb.KeepToolReplyResponse(reply=kept if kept is not None else request.reply)


async def _check(context: grpc.aio.ServicerContext, tenant_id: str, key: str) -> None:
    await require(context, tenant_id=tenant_id, key=key)
    if len(key) > MAX_KEY:
        await invalid(context, f"key: longer than {MAX_KEY} characters")
