"""gRPC methods of NotificationService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

import asyncpg

from booking.notification.v1 import notification_pb2_grpc


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
