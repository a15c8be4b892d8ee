"""KeepToolReplies: the gateway replicas' shared memory of tool-call answers.

Each gateway keeps answers in its own memory too; this is what makes a Vapi retry that lands on
another replica get the same bytes. There is no lookup before a tool runs (a round trip on every
tool call that changes something): a retry runs again, every change it asks for is answered from
its idempotency key without being done twice, and keeping its answer hands back the first one.
A gateway sends the answers that finished while its previous request was in flight together, so
under load one round trip keeps many. SQL is kept here with the RPC it serves.
"""

from __future__ import annotations

import asyncpg
import grpc

from booking.reservation.v1 import reservation_pb2 as pb
from common.grpc_errors import invalid

MAX_KEY = 300
MAX_REPLY = 65_536
MAX_REPLIES = 500

# The first answer wins: an entry whose key is already kept gets the kept answer back; an entry
# without a reply only looks (a replica that could not run a retried call). Rows are inserted in
# key order, so two requests keeping the same keys never wait for each other in a circle. A key
# kept by a concurrent transaction not visible to this snapshot comes back NULL: read again.
KEEP = """
WITH asked AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS a(tenant_id, reply_key, reply, n)
), kept AS (
    INSERT INTO reservation.tool_replies (tenant_id, reply_key, reply)
    SELECT tenant_id, reply_key, reply FROM asked WHERE reply <> '' ORDER BY tenant_id, reply_key
    ON CONFLICT (tenant_id, reply_key) DO NOTHING
    RETURNING tenant_id, reply_key, reply
)
SELECT COALESCE(k.reply, t.reply) AS reply
FROM asked a
LEFT JOIN kept k ON k.tenant_id = a.tenant_id AND k.reply_key = a.reply_key
LEFT JOIN reservation.tool_replies t ON t.tenant_id = a.tenant_id AND t.reply_key = a.reply_key
ORDER BY a.n
"""
KEPT = "SELECT reply FROM reservation.tool_replies WHERE tenant_id = $1 AND reply_key = $2"
ATTEMPTS = 3  # a deadlock with another keeper (it should not happen: rows go in key order) is retried


class ToolReplyRpcs:
    pool: asyncpg.Pool

    async def KeepToolReplies(
        self, request: pb.KeepToolRepliesRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeepToolRepliesResponse:
        await _check(context, request)
        asked = request.replies
        columns = [r.tenant_id for r in asked], [r.key for r in asked], [r.reply for r in asked]
        for attempt in range(ATTEMPTS):
            try:
                rows = await self.pool.fetch(KEEP, *columns)
                break
            except asyncpg.DeadlockDetectedError:
                if attempt == ATTEMPTS - 1:
                    raise
        replies: list[str] = []
        for entry, row in zip(asked, rows, strict=True):
            kept = row["reply"]
            if kept is None and entry.reply:  # the first keeper's row is not visible to that snapshot yet
                kept = await self.pool.fetchval(KEPT, entry.tenant_id, entry.key)
            replies.append(kept if kept is not None else entry.reply)
        return pb.KeepToolRepliesResponse(replies=replies)


async def _check(context: grpc.aio.ServicerContext, request: pb.KeepToolRepliesRequest) -> None:
    if not 1 <= len(request.replies) <= MAX_REPLIES:
        await invalid(context, f"replies: between 1 and {MAX_REPLIES} required")
    for n, entry in enumerate(request.replies):
        if not entry.tenant_id:
            await invalid(context, f"replies[{n}].tenant_id is required")
        if not entry.key or len(entry.key) > MAX_KEY:
            await invalid(context, f"replies[{n}].key: 1 to {MAX_KEY} characters required")
        if len(entry.reply) > MAX_REPLY:
            await invalid(context, f"replies[{n}].reply: longer than {MAX_REPLY} characters")
