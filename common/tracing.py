"""OpenTelemetry traces across gateway → gRPC → asyncpg, configured by the standard `OTEL_*`
variables and OFF unless asked for.

Tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`) or an OTLP
endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and
`OTEL_SDK_DISABLED` is not `true`. Off, nothing of OpenTelemetry is even imported. On, the
official instrumentations trace the aiohttp server, every gRPC client and server call and every
asyncpg query; the SDK itself reads the rest (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_*`, `OTEL_BSP_*`), and each log line carries the
current `trace_id`/`span_id` (common/logs.py), so a request id made here is the trace id.

A trace starts only where a request enters (an HTTP or gRPC server span): the database
watchdog, relays, sweepers and the metrics scrape start none, so traces are calls, not noise.
No span records a query string (a calendar feed's token travels in one) nor query parameters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common import logs
from common.config import ConfigError, load_or_exit

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span, SpanProcessor
    from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult
    from opentelemetry.trace import Link, SpanKind
    from opentelemetry.trace.span import TraceState
    from opentelemetry.util.types import Attributes

log = logging.getLogger("common.tracing")

EXPORTERS = ("otlp", "console")
# The only OTLP transport installed (opentelemetry-exporter-otlp-proto-http).
OTLP_PROTOCOL = "http/protobuf"
# Probes and scrapes are not requests worth a trace (unless the operator lists URLs to exclude).
EXCLUDED_URLS = "/health$,/ready$,/metrics$"


@dataclass(frozen=True)
class TraceSettings:
    exporters: tuple[str, ...]
    service_name: str


def _truthy(value: str) -> bool:
    return value.strip().lower() == "true"


def settings_from_env(env: Mapping[str, str], service: str) -> TraceSettings | None:
    """What to start, or None when tracing is off (the default). Raises ConfigError naming the
    variable for a value we cannot honour."""
    if _truthy(env.get("OTEL_SDK_DISABLED", "")):
        return None
    named = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()]
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not named:
        named = ["otlp"] if endpoint else []
    exporters = tuple(e for e in named if e != "none")
    if not exporters:
        return None
    unknown = [e for e in exporters if e not in EXPORTERS]
    if unknown:
        raise ConfigError(f"OTEL_TRACES_EXPORTER={env['OTEL_TRACES_EXPORTER']!r}: one of {', '.join(EXPORTERS)}, none")
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "")
        if "otlp" in exporters and protocol and protocol != OTLP_PROTOCOL:
            raise ConfigError(f"{name}={protocol!r}: only {OTLP_PROTOCOL} is installed")
    return TraceSettings(exporters, env.get("OTEL_SERVICE_NAME") or service)


def setup(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Start tracing for this process if configured (once, at start, before any server, channel
    or pool is made); a bad value exits 2 with one line. Returns whether tracing is on."""
    env = os.environ if env is None else env
    settings = load_or_exit(service, lambda: settings_from_env(env, service))
    if settings is None:
        return False
    _start(settings)
    log.info("tracing", extra={"exporters": ",".join(settings.exporters), "service_name": settings.service_name})
    return True


def _start(settings: TraceSettings) -> None:
    # Imported here: an unconfigured process never pays for OpenTelemetry.
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.service_name}), sampler=_requests_only_sampler()
    )
    provider.add_span_processor(_no_query_strings())
    for name in settings.exporters:
        exporter: SpanExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
        else:
            exporter = ConsoleSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))  # OTEL_BSP_*; flushed at exit
    trace.set_tracer_provider(provider)
    _instrument()
    logs.use_trace_ids(_trace_ids())


def _instrument() -> None:
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer, filters

    os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", EXCLUDED_URLS)
    calls = filters.negate(filters.any_of(filters.health_check(), filters.service_prefix("grpc.reflection")))
    # Each patches what is made from now on: web.Application, grpc.aio.server, grpc.aio.*_channel;
    # asyncpg's Connection methods. Query parameters are never recorded (patient data).
    AioHttpServerInstrumentor().instrument()
    GrpcAioInstrumentorServer(filter_=calls).instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient(filter_=calls).instrument()  # type: ignore[no-untyped-call]
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]


# Span attributes that carry a request's URL. The aiohttp instrumentation keeps the query string
# (it redacts only a few cloud signature names), and a calendar feed's token is in it.
URL_ATTRIBUTES = ("http.target", "http.url", "url.full")
QUERY_ATTRIBUTE = "url.query"


def without_query(value: object) -> object:
    """A URL attribute's value with its query string and fragment cut off (other values as they are)."""
    if not isinstance(value, str):
        return value
    return value.split("?", 1)[0].split("#", 1)[0]


def _no_query_strings() -> SpanProcessor:
    """Cuts the query string off every URL a span records, as it starts (before any exporter sees it)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class NoQueryStrings(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            recorded = span.attributes or {}
            for key in URL_ATTRIBUTES:
                if key in recorded:
                    span.set_attribute(key, without_query(recorded[key]))  # type: ignore[arg-type]
            if recorded.get(QUERY_ATTRIBUTE):
                span.set_attribute(QUERY_ATTRIBUTE, "")

    return NoQueryStrings()


def _requests_only_sampler() -> Sampler:
    """The configured sampler (OTEL_TRACES_SAMPLER), but a span with no parent is kept only if
    it is a server span: background loops start no traces."""
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, _get_from_env_or_default
    from opentelemetry.trace import SpanKind, get_current_span

    configured = _get_from_env_or_default()

    class RequestsOnly(Sampler):
        def should_sample(
            self,
            parent_context: Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: TraceState | None = None,
        ) -> SamplingResult:
            is_root = not get_current_span(parent_context).get_span_context().is_valid
            if is_root and kind is not SpanKind.SERVER:
                return SamplingResult(Decision.DROP)
            return configured.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return f"RequestsOnly{{{configured.get_description()}}}"

    return RequestsOnly()


def _trace_ids() -> Callable[[], tuple[str, str] | None]:
    from opentelemetry.trace import format_span_id, format_trace_id, get_current_span

    def current() -> tuple[str, str] | None:
        """The current sampled span's trace and span ids, as hex (None outside one)."""
        context = get_current_span().get_span_context()
        if not context.is_valid or not context.trace_flags.sampled:
            return None
        return format_trace_id(context.trace_id), format_span_id(context.span_id)

    return current
