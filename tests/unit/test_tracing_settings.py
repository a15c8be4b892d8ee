"""When tracing is on (common/tracing.py): only when the OTEL_* variables ask, and an
unconfigured process does not even import OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from common.config import ConfigError
from common.tracing import TraceSettings, settings_from_env, without_query
from devkit.processes import ROOT

ENDPOINT = "http://collector:4318"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),  # the default: off
        ({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}, None),  # nothing to export to
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, TraceSettings(("otlp",), "reservation")),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT + "/v1/traces"}, TraceSettings(("otlp",), "reservation")),
        ({"OTEL_TRACES_EXPORTER": "console"}, TraceSettings(("console",), "reservation")),
        ({"OTEL_TRACES_EXPORTER": "otlp, Console"}, TraceSettings(("otlp", "console"), "reservation")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
        (
            {"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT},
            TraceSettings(("otlp",), "reservation"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SERVICE_NAME": "reservation-eu"},
            TraceSettings(("otlp",), "reservation-eu"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
            TraceSettings(("otlp",), "reservation"),
        ),
    ],
)
def test_settings(env: dict[str, str], expected: TraceSettings | None) -> None:
    assert settings_from_env(env, "reservation") == expected


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
    ],
)
def test_a_value_we_cannot_honour_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings_from_env(env, "gateway")


def run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


LOADED = """
import sys
import common.service, gateway.__main__, services.reservation.server, services.availability.server
from common import tracing
print(tracing.setup("gateway"), sorted({m.split(".")[1] for m in sys.modules if m.startswith("opentelemetry.")}))
"""


def test_an_unconfigured_process_does_not_import_opentelemetry() -> None:
    done = run(LOADED, {"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "False []"


def test_a_configured_process_instruments_and_a_bad_value_exits_2() -> None:
    done = run(LOADED, {"OTEL_TRACES_EXPORTER": "console"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2].startswith("True [")
    assert "instrumentation" in done.stdout
    bad = run(LOADED, {"OTEL_TRACES_EXPORTER": "zipkin"})
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "gateway: configuration error: OTEL_TRACES_EXPORTER='zipkin': one of otlp, console, none"
    ]


def test_urls_recorded_on_spans_lose_their_query_string_and_fragment() -> None:
    assert without_query("/ics/demo/dr-lee.ics?token=abc&x=1") == "/ics/demo/dr-lee.ics"
    assert without_query("http://h:1/console/demo/?date=2026-11-24#top") == "http://h:1/console/demo/"
    assert without_query("/vapi/demo") == "/vapi/demo"
    assert without_query(200) == 200
