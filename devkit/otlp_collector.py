"""A tiny OTLP/HTTP trace receiver for tests and benchmarks: what our processes export when
`OTEL_EXPORTER_OTLP_ENDPOINT` points at it, decoded from the protobuf export request."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from devkit.local_http import serving

KINDS = {
    ProtoSpan.SPAN_KIND_SERVER: "server",
    ProtoSpan.SPAN_KIND_CLIENT: "client",
    ProtoSpan.SPAN_KIND_INTERNAL: "internal",
    ProtoSpan.SPAN_KIND_PRODUCER: "producer",
    ProtoSpan.SPAN_KIND_CONSUMER: "consumer",
}


@dataclass(frozen=True)
class Span:
    service: str  # the resource's service.name
    scope: str  # the instrumentation that made it, e.g. opentelemetry.instrumentation.asyncpg
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, str]


def _value(any_value: object) -> str:
    kind = any_value.WhichOneof("value")  # type: ignore[attr-defined]
    return "" if kind is None else str(getattr(any_value, kind))


def decode(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest.FromString(body)
    spans: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        service=resource.get("service.name", ""),
                        scope=scope_spans.scope.name,
                        name=span.name,
                        kind=KINDS.get(span.kind, "unspecified"),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                    )
                )
    return spans


@dataclass
class Collector:
    url: str = ""
    spans: list[Span] = field(default_factory=list)
    requests: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.requests += 1
        self.spans.extend(decode(body))
        self.arrived.set()
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    def trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]

    async def wait_for(self, trace_id: str, services: set[str], timeout: float = 10.0) -> list[Span]:
        """The spans of one trace, once every service in `services` has exported some of it."""
        async with asyncio.timeout(timeout):
            while True:
                self.arrived.clear()  # before the look: a batch landing after it wakes the wait
                if services <= {s.service for s in self.trace(trace_id)}:
                    break
                await self.arrived.wait()
        await asyncio.sleep(0.3)  # a process's last batch may trail its first
        return self.trace(trace_id)


@asynccontextmanager
async def collecting() -> AsyncIterator[Collector]:
    """A collector on 127.0.0.1:0; point OTEL_EXPORTER_OTLP_ENDPOINT at its `url`."""
    collector = Collector()
    app = web.Application()
    app.router.add_post("/v1/traces", collector.receive)
    async with serving(app) as url:
        collector.url = url
        yield collector
