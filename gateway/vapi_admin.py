"""Point a Vapi assistant at this backend without hand-writing JSON in Vapi's dashboard.

    python -m gateway.vapi_admin tools  --tenant T --base-url U        # the tool JSON
    python -m gateway.vapi_admin prompt --tenant T [--kind booking|verification|lead]
    python -m gateway.vapi_admin sync   --tenant T --assistant-id A --base-url U [--dry-run]

`sync` uses the official vapi-server-sdk (API key from VAPI_API_KEY, API base from
VAPI_BASE_URL): it creates or updates this clinic's nine tools, attaches them to the
assistant keeping every other model setting (Vapi's PATCH replaces the whole `model`, so it
is read first), makes sure `serverMessages` has `tool-calls` and `end-of-call-report`, and
changes nothing on a second run. `--dry-run` shows the changes and writes nothing.

Exit codes: 0 done, 2 usage/configuration, 3 Vapi rejected the API key, 4 not found,
5 Vapi refused the request, 6 Vapi or the clinic's services unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.tool_definitions import SERVER_MESSAGES, vapi_tools

REQUIRED_SERVER_MESSAGES = SERVER_MESSAGES


class AdminError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def server_url(base_url: str, tenant: str) -> str:
    return f"{base_url.rstrip('/')}/vapi/{tenant}"


def _plain(value: Any) -> Any:
    """An SDK model (or anything) as plain JSON data with Vapi's field names."""
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _comparable_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """The parts of a tool we own, to tell whether an update is needed."""
    return {
        "function": tool.get("function"),
        "server": {k: tool.get("server", {}).get(k) for k in ("url", "timeoutSeconds")},
        "messages": [
            {k: m.get(k) for k in ("type", "content", "timingMilliseconds")} for m in tool.get("messages", [])
        ],
    }


async def sync(tenant: str, assistant_id: str, base_url: str, *, dry_run: bool, out: Any = sys.stdout) -> list[str]:
    import httpx
    from vapi import AsyncVapi

    api_key = os.environ.get("VAPI_API_KEY", "")
    if not api_key:
        raise AdminError("VAPI_API_KEY is not set", 2)
    http = httpx.AsyncClient(timeout=30)  # ours, so it is closed when we are done
    client = AsyncVapi(token=api_key, base_url=os.environ.get("VAPI_BASE_URL") or None, httpx_client=http)
    try:
        return await _sync(client, tenant, assistant_id, base_url, dry_run=dry_run, out=out)
    finally:
        await http.aclose()


@dataclass
class ToolPlan:
    """What a sync does to the tools: creations and updates, and the ids of ours by name."""

    writes: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)  # (action, tool, id)
    changes: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)  # ids of our tools no longer wanted


def plan_tools(desired: list[dict[str, Any]], existing: list[dict[str, Any]], url: str) -> ToolPlan:
    """Ours are the function tools pointing at this tenant's URL; create what is missing, update
    what differs in the parts we own."""
    ours = {
        t.get("function", {}).get("name"): t
        for t in existing
        if t.get("type") == "function" and t.get("server", {}).get("url") == url
    }
    plan = ToolPlan()
    for tool in desired:
        name = tool["function"]["name"]
        current = ours.get(name)
        if current is None:
            plan.writes.append(("create", tool, None))
            plan.changes.append(f"create tool {name}")
            continue
        plan.ids[name] = current["id"]
        if _comparable_tool(current) != _comparable_tool(tool):
            plan.writes.append(("update", tool, current["id"]))
            plan.changes.append(f"update tool {name}")
    plan.stale = {t["id"] for t in ours.values()} - set(plan.ids.values())
    return plan


def new_tool_ids(
    model: dict[str, Any], desired: list[dict[str, Any]], ids: dict[str, str], stale: set[str]
) -> list[str]:
    """The assistant's tool ids: others' kept in order, our stale ones dropped, ours appended."""
    kept = [i for i in model.get("toolIds") or [] if i not in stale]
    wanted = [ids.get(t["function"]["name"], f"<new {t['function']['name']}>") for t in desired]
    return kept + [i for i in wanted if i not in kept]


async def _write_tools(client: Any, plan: ToolPlan) -> None:
    from vapi.tools.types.create_tools_request import CreateToolsRequest_Function
    from vapi.tools.types.update_tools_request_body import UpdateToolsRequestBody_Function

    for action, tool, tool_id in plan.writes:
        body = {k: v for k, v in tool.items() if k != "type"}
        if action == "create":
            created = await client.tools.create(request=CreateToolsRequest_Function.model_validate(body))
            plan.ids[tool["function"]["name"]] = _plain(created)["id"]
        else:
            assert tool_id is not None
            await client.tools.update(tool_id, request=UpdateToolsRequestBody_Function.model_validate(body))


async def _apply(client: Any, assistant_id: str, url: str, *, dry_run: bool) -> list[str]:
    """Read everything first (nothing is written until every read succeeded), then write."""
    desired = vapi_tools(url)
    assistant = _plain(await client.assistants.get(assistant_id))
    plan = plan_tools(desired, [_plain(t) for t in await client.tools.list(limit=1000)], url)
    model = dict(assistant.get("model") or {})
    if not model:
        raise AdminError("the assistant has no model configured; set one in Vapi first", 5)
    server_messages = list(assistant.get("serverMessages") or [])
    missing = [m for m in REQUIRED_SERVER_MESSAGES if m not in server_messages]
    changes = plan.changes + ([f"serverMessages += {', '.join(missing)}"] if missing else [])
    if not dry_run:
        await _write_tools(client, plan)
    tool_ids = new_tool_ids(model, desired, plan.ids, plan.stale)
    if tool_ids != list(model.get("toolIds") or []):
        changes.append(f"model.toolIds: {len(model.get('toolIds') or [])} -> {len(tool_ids)}")
    if changes and not dry_run:
        model["toolIds"] = tool_ids
        await client.assistants.update(
            assistant_id,
            model=model,  # the whole object, as read, plus our tool ids
            server_messages=server_messages + missing,
        )
    return changes


async def _sync(client: Any, tenant: str, assistant_id: str, base_url: str, *, dry_run: bool, out: Any) -> list[str]:
    from vapi.core.api_error import ApiError

    try:
        changes = await _apply(client, assistant_id, server_url(base_url, tenant), dry_run=dry_run)
    except ApiError as error:
        raise _api_error(error) from None
    except (OSError, TimeoutError) as error:
        raise AdminError(f"could not reach Vapi: {type(error).__name__}", 6) from None
    for change in changes:
        print(f"would {change}" if dry_run else change, file=out)
    if not changes:
        print("nothing to change", file=out)
    return changes


def _api_error(error: Any) -> AdminError:
    status = getattr(error, "status_code", None)
    body = getattr(error, "body", None)
    detail = body.get("message") if isinstance(body, dict) else body
    if isinstance(detail, list):
        detail = "; ".join(str(d) for d in detail)
    if status == 401:
        return AdminError("Vapi rejected the API key (401): check VAPI_API_KEY", 3)
    if status == 404:
        return AdminError("Vapi could not find that assistant (404): check --assistant-id", 4)
    return AdminError(f"Vapi refused the request ({status}): {str(detail)[:300]}", 5)


async def render_prompt(tenant: str, kind: str) -> str:
    import grpc

    from booking.availability.v1 import availability_pb2_grpc
    from common.config import ConfigError, env_address
    from common.grpc_client import open_channel
    from gateway.clinics import ClinicDirectory
    from gateway.prompts import booking_prompt, lead_prompt

    target = env_address(os.environ, "AVAILABILITY_ADDR", "127.0.0.1:50051")
    try:
        channel = open_channel(target)
    except ConfigError as error:
        raise AdminError(f"configuration error: {error}", 2) from None
    async with channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        try:
            clinic = await ClinicDirectory(lambda: stub).get(tenant)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise AdminError(f"no clinic {tenant!r}", 4) from None
            raise AdminError(f"availability at {target} did not answer: {error.code().name}", 6) from None
    now = datetime.now(UTC)
    if kind == "lead":
        return lead_prompt(clinic, now)
    return booking_prompt(clinic, now, verification=True if kind == "verification" else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.vapi_admin", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tools_cmd = commands.add_parser("tools", help="print the tool definitions as JSON")
    tools_cmd.add_argument("--tenant", required=True)
    tools_cmd.add_argument("--base-url", required=True, help="public URL of this gateway")
    tools_cmd.add_argument("--language", choices=["en", "es"], default="en", help="of the filler messages")
    prompt_cmd = commands.add_parser("prompt", help="print the clinic's system prompt")
    prompt_cmd.add_argument("--tenant", required=True)
    prompt_cmd.add_argument("--kind", choices=["booking", "verification", "lead"], default="booking")
    sync_cmd = commands.add_parser("sync", help="create/update the tools and attach them to an assistant")
    sync_cmd.add_argument("--tenant", required=True)
    sync_cmd.add_argument("--assistant-id", required=True)
    sync_cmd.add_argument("--base-url", required=True, help="public URL of this gateway")
    sync_cmd.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "tools":
            print(json.dumps(vapi_tools(server_url(args.base_url, args.tenant), args.language), indent=2))
        elif args.command == "prompt":
            print(asyncio.run(render_prompt(args.tenant, args.kind)))
        else:
            asyncio.run(sync(args.tenant, args.assistant_id, args.base_url, dry_run=args.dry_run))
    except AdminError as error:
        print(f"vapi_admin: {error}", file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
