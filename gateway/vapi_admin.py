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
from datetime import UTC, datetime
from typing import Any

from gateway.tool_definitions import vapi_tools

REQUIRED_SERVER_MESSAGES = ("tool-calls", "end-of-call-report", "status-update")


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


async def _sync(client: Any, tenant: str, assistant_id: str, base_url: str, *, dry_run: bool, out: Any) -> list[str]:
    from vapi.core.api_error import ApiError

    url = server_url(base_url, tenant)
    desired = vapi_tools(url)
    changes: list[str] = []
    try:
        # Read everything first: nothing is written until every read succeeded.
        assistant = _plain(await client.assistants.get(assistant_id))
        existing = [_plain(t) for t in await client.tools.list(limit=1000)]
        ours = {
            t.get("function", {}).get("name"): t
            for t in existing
            if t.get("type") == "function" and t.get("server", {}).get("url") == url
        }
        plan: list[tuple[str, dict[str, Any], str | None]] = []
        for tool in desired:
            name = tool["function"]["name"]
            current = ours.get(name)
            if current is None:
                plan.append(("create", tool, None))
                changes.append(f"create tool {name}")
            elif _comparable_tool(current) != _comparable_tool(tool):
                plan.append(("update", tool, current["id"]))
                changes.append(f"update tool {name}")
        model = dict(assistant.get("model") or {})
        if not model:
            raise AdminError("the assistant has no model configured; set one in Vapi first", 5)
        server_messages = list(assistant.get("serverMessages") or [])
        missing = [m for m in REQUIRED_SERVER_MESSAGES if m not in server_messages]
        if missing:
            changes.append(f"serverMessages += {', '.join(missing)}")

        ids = {
            t["function"]["name"]: ours[t["function"]["name"]]["id"] for t in desired if t["function"]["name"] in ours
        }
        if not dry_run:
            from vapi.tools.types.create_tools_request import CreateToolsRequest_Function
            from vapi.tools.types.update_tools_request_body import UpdateToolsRequestBody_Function

            for action, tool, tool_id in plan:
                body = {k: v for k, v in tool.items() if k != "type"}
                if action == "create":
                    created = await client.tools.create(request=CreateToolsRequest_Function.model_validate(body))
                    ids[tool["function"]["name"]] = _plain(created)["id"]
                else:
                    assert tool_id is not None
                    await client.tools.update(tool_id, request=UpdateToolsRequestBody_Function.model_validate(body))
        stale_ours = {t["id"] for t in ours.values()} - set(ids.values())
        tool_ids = [i for i in model.get("toolIds") or [] if i not in stale_ours]
        wanted_ids = [ids.get(t["function"]["name"], f"<new {t['function']['name']}>") for t in desired]
        new_tool_ids = tool_ids + [i for i in wanted_ids if i not in tool_ids]
        if new_tool_ids != list(model.get("toolIds") or []):
            changes.append(f"model.toolIds: {len(model.get('toolIds') or [])} -> {len(new_tool_ids)}")
        if dry_run:
            for change in changes:
                print(f"would {change}", file=out)
            if not changes:
                print("nothing to change", file=out)
            return changes
        if changes:
            model["toolIds"] = new_tool_ids
            await client.assistants.update(
                assistant_id,
                model=model,  # the whole object, as read, plus our tool ids
                server_messages=server_messages + missing,
            )
    except ApiError as error:
        raise _api_error(error) from None
    except (OSError, TimeoutError) as error:
        raise AdminError(f"could not reach Vapi: {type(error).__name__}", 6) from None
    for change in changes:
        print(change, file=out)
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
    from common.config import env_address
    from gateway.clinics import ClinicDirectory
    from gateway.prompts import booking_prompt, lead_prompt

    target = env_address(os.environ, "AVAILABILITY_ADDR", "127.0.0.1:50051")
    async with grpc.aio.insecure_channel(target) as channel:
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
            print(json.dumps(vapi_tools(server_url(args.base_url, args.tenant)), indent=2))
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
