"""Start our processes as real subprocesses and read back the port they bound."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Started processes pick free metrics ports unless told otherwise: stacks run side by side.
ANY_METRICS_PORT = {f"{name}_METRICS_PORT": "0" for name in ("GATEWAY", "AVAILABILITY", "RESERVATION", "NOTIFICATION")}


@dataclass
class Proc:
    process: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def stop(self, timeout: float = 15.0) -> int:
        if self.process.returncode is None:
            self.process.terminate()
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code


async def spawn(
    module: str,
    *args: str,
    env: dict[str, str],
    stdout: int | None = asyncio.subprocess.PIPE,
    stderr: int | None = asyncio.subprocess.STDOUT,
    new_session: bool = False,
) -> asyncio.subprocess.Process:
    """`python -m module args…` from the repository root: the one way our processes are started."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, env=env, cwd=ROOT, stdout=stdout, stderr=stderr,
        start_new_session=new_session,
    )  # fmt: skip


async def start_module(module: str, env: dict[str, str], timeout: float = 30.0) -> Proc:
    """Run `python -m module` and wait for its "listening" log line."""
    process = await spawn(module, env={**os.environ, **ANY_METRICS_PORT, **env, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    port_future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def read() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if not port_future.done() and '"listening"' in line:
                port_future.set_result(int(json.loads(line)["port"]))
        if not port_future.done():
            port_future.set_exception(RuntimeError(f"{module} exited: {lines[-5:]}"))

    reader = asyncio.create_task(read())
    try:
        port = await asyncio.wait_for(asyncio.shield(port_future), timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):  # it may have exited already
            process.kill()
        await process.wait()
        raise
    return Proc(process, port, lines, reader)
