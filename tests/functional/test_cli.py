"""The `booking` command: help at every level, documented exit codes, one-line errors, and the
services' own entry points answering --help / a wrong DATABASE_URL without starting or a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
import tomllib
from pathlib import Path

import pytest

from common.cli import COMMANDS, main
from devkit.processes import ROOT
from tests.conftest import Stack

UNREACHABLE_DB = "postgresql://someone:hunter2@127.0.0.1:1/booking"


async def run(*args: str, env: dict[str, str] | None = None, module: str = "common.cli") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, cwd=ROOT, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_the_console_script_is_the_cli_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["booking"] == "common.cli:main"


def test_top_level_help_lists_every_command_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("run", "migrate", "load-clinic", "tenants", "feeds", "staff", "sms", "vapi", "purge"):
        assert f"  {name} " in out
    assert "exit codes" in out


@pytest.mark.parametrize("argv", [[], ["bogus"]])
def test_a_missing_or_unknown_command_is_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1


HELPS = [
    ["run", "--help"], ["migrate", "--help"], ["load-clinic", "--help"], ["tenants", "--help"],
    ["tenants", "issue-key", "--help"], ["tenants", "list-keys", "--help"], ["tenants", "revoke-key", "--help"],
    ["tenants", "rotate-secret", "--help"], ["staff", "--help"], ["staff", "add", "--help"],
    ["staff", "list", "--help"], ["staff", "remove", "--help"], ["sms", "--help"], ["sms", "inbox", "--help"],
    ["vapi", "--help"],
    ["vapi", "tools", "--help"], ["vapi", "prompt", "--help"], ["vapi", "sync", "--help"], ["purge", "--help"],
    ["purge", "reservation", "--help"], ["purge", "notification", "--help"], ["feeds", "--help"],
    ["feeds", "issue", "--help"], ["feeds", "list", "--help"], ["feeds", "revoke", "--help"],
]  # fmt: skip


@pytest.mark.parametrize("argv", HELPS, ids=" ".join)
async def test_every_subcommand_answers_help_with_exit_0(argv: list[str]) -> None:
    code, out, _ = await run(*argv)
    assert code == 0
    assert "usage:" in out


def test_every_command_is_covered_by_a_help_test() -> None:
    assert {argv[0] for argv in HELPS} == set(COMMANDS)


@pytest.mark.parametrize("argv", [["migrate", "extra"], ["sms"], ["purge"], ["purge", "billing"]])
async def test_bad_usage_is_one_line_and_exit_2(argv: list[str]) -> None:
    code, _, err = await run(*argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["migrate"], ["purge", "reservation"], ["purge", "notification", "--dry-run"]])
async def test_an_unreachable_database_is_one_line_naming_host_and_port_and_exit_3(argv: list[str]) -> None:
    code, _, err = await run(*argv, env={"DATABASE_URL": UNREACHABLE_DB})
    assert code == 3
    assert err.strip().count("\n") == 0
    assert "127.0.0.1:1" in err
    assert "hunter2" not in err


async def test_migrate_applies_to_a_reachable_database_with_exit_0(database_url: str) -> None:
    code, out, _ = await run("migrate", env={"DATABASE_URL": database_url})
    assert code == 0
    assert "migrations: applied" in out


@pytest.mark.parametrize("argv", [["tenants", "list-keys", "demo"], ["staff", "list", "demo"], ["sms", "inbox"]])
async def test_an_unreachable_service_is_one_line_and_exit_3(argv: list[str]) -> None:
    target = ["--target", "127.0.0.1:1"]
    # tenants and staff take --target before their subcommand, sms inbox after it
    before = argv[0] in ("tenants", "staff")
    code, _, err = await run(argv[0], *target, *argv[1:]) if before else await run(*argv, *target)
    assert code == 3
    assert len(err.strip().splitlines()) == 1
    assert "127.0.0.1:1" in err


async def test_load_clinic_refuses_an_invalid_file_with_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "clinic.yaml"
    bad.write_text("tenant_id: demo\n")
    code, _, err = await run("load-clinic", str(bad), "--target", "127.0.0.1:1")
    assert code == 1
    assert "invalid" in err


async def test_vapi_tools_prints_the_tool_json_with_exit_0() -> None:
    code, out, _ = await run("vapi", "tools", "--tenant", "demo", "--base-url", "https://booking.example.com")
    assert code == 0
    assert '"check_availability"' in out


async def test_sms_inbox_lists_the_texts_the_local_sender_kept(stack: Stack) -> None:
    await stack.notification.sender.send("+15555550123", "Your code is 123456")
    code, out, _ = await run("sms", "inbox", "--target", f"127.0.0.1:{stack.notification.port}")
    assert code == 0
    assert "+15555550123" in out
    assert "Your code is 123456" in out


@pytest.mark.parametrize("service", ["availability", "reservation", "notification"])
async def test_a_service_answers_help_without_starting(service: str) -> None:
    code, out, _ = await run("--help", module=f"services.{service}")
    assert code == 0
    assert "usage:" in out


@pytest.mark.parametrize("service", ["availability", "reservation", "notification"])
async def test_a_service_with_an_unreachable_database_says_where_in_one_line(service: str) -> None:
    code, _, err = await run(module=f"services.{service}", env={"DATABASE_URL": UNREACHABLE_DB})
    assert code == 3
    assert "Traceback" not in err
    assert f"{service}: database at 127.0.0.1:1 unreachable" in err
    assert "hunter2" not in err


async def test_the_gateway_answers_help_without_starting() -> None:
    code, out, _ = await run("--help", module="gateway")
    assert code == 0
    assert "usage:" in out


async def test_feeds_issue_list_and_revoke_a_providers_token_and_tenants_issue_a_key_with_patient_phones(
    stack: Stack,
) -> None:
    from booking.availability.v1 import availability_pb2 as apb
    from services.availability.clinic_file import parse_clinic
    from tests.functional.booking import CLINIC

    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(CLINIC, {})))
    target = ["--target", f"127.0.0.1:{stack.availability.port}"]
    code, out, _ = await run(
        "feeds", *target, "issue", "acme", "p1", "--label", "phone", "--base-url", "https://b.example"
    )
    assert code == 0
    url = out.split("subscribe to: ")[1].strip()
    assert url.startswith("https://b.example/ics/acme/p1.ics?token=")
    token = url.split("token=")[1]
    checked = await stack.availability_stub.CheckFeedToken(
        apb.CheckFeedTokenRequest(tenant_id="acme", provider_id="p1", token=token)
    )
    assert checked.valid
    code, out, _ = await run("feeds", *target, "list", "acme")
    assert code == 0 and "p1" in out and "valid" in out and token not in out
    code, out, _ = await run("feeds", *target, "revoke", "acme", "p1")
    assert code == 0 and "revoked 1" in out
    code, _, err = await run("feeds", *target, "revoke", "acme", "p1")
    assert code == 1 and len(err.strip().splitlines()) == 1
    code, _, err = await run("feeds", *target, "issue", "acme", "nobody")
    assert code == 1 and "refused" in err

    code, out, _ = await run("tenants", *target, "issue-key", "acme", "--patient-phones")
    assert code == 0 and "sees patient phones" in out and "masked" not in out
    code, out, _ = await run("tenants", *target, "list-keys", "acme")
    assert code == 0 and "  phones  " in out
