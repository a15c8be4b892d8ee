"""Where the CPU goes under load: the whole stack driven like bench/e2e.py (mixed conversations, or
one tool alone) while `py-spy record` samples every process; prints, per process, the functions
with the most samples on top of the stack (self) and anywhere in it (inclusive), and keeps the
collapsed stacks for flame graphs.

    pip install py-spy    # not a project dependency: a profiler, installed where you like
    .venv/bin/python -m bench.profile [--callers 50] [--seconds 20] [--tool check_availability]
    # PY_SPY=/path/to/py-spy if it is not on PATH; stacks land in .data/profile/<process>.txt
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from collections import Counter
from pathlib import Path

from bench.common import bench_database
from bench.e2e import ROOT, Driver, Stats, bench_clinic, table
from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from devkit.real_stack import RealStack
from devkit.twilio_fake import fake_twilio
from services.availability.clinic_file import parse_clinic

OUT = ROOT / ".data" / "profile"


def frame_name(frame: str) -> str:
    """`handle (services/x.py:12)` -> `services/x.py:handle`, without the site-packages prefix."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{name}"


def summarize(stacks: Path, top: int) -> list[str]:
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")[1:]]  # [0] is the process/thread
        if not frames:
            continue
        total += n
        self_samples[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
    lines = [f"  {total} samples"]
    lines += [f"  self {n / total:6.1%}  {name}" for name, n in self_samples.most_common(top)]
    lines += [f"  incl {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top * 2)]
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tool", default="", help="one tool alone (bench/e2e.py ALONE); default: mixed")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy not found: pip install py-spy, or set PY_SPY")
    OUT.mkdir(parents=True, exist_ok=True)
    async with bench_database() as url, fake_twilio() as twilio:
        stack = RealStack.configure(url, {
            "TWILIO_ACCOUNT_SID": "AC" + "4" * 32, "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+12125550100",
            "TWILIO_API_BASE_URL": twilio.url, "LOG_LEVEL": "WARNING",
        })  # fmt: skip
        await stack.start_all()
        try:
            async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
                await availability_pb2_grpc.AvailabilityServiceStub(channel).UpsertClinic(
                    apb.UpsertClinicRequest(clinic=parse_clinic(bench_clinic(), {}))
                )
            await Driver(stack.gateway_url, twilio, Stats()).run(10, 2.0, True)  # warm-up
            pids = {name: proc.process.pid for name, proc in stack.procs.items()}
            recorders = {
                name: await asyncio.create_subprocess_exec(
                    py_spy, "record", "--nonblocking", "-r", "200", "-f", "raw", "-d", str(int(args.seconds)),
                    "-p", str(pid), "-o", str(OUT / f"{name}.txt"),
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                )
                for name, pid in pids.items()
            }
            stats = Stats()
            elapsed = await Driver(stack.gateway_url, twilio, stats).run(
                args.callers, args.seconds, True, args.tool
            )
            for recorder in recorders.values():
                await recorder.wait()
            for line in table(stats, elapsed):
                print(line)
            for name in pids:
                print(f"\n{name}:")
                for line in summarize(OUT / f"{name}.txt", args.top):
                    print(line)
        finally:
            await stack.stop_all()


if __name__ == "__main__":
    asyncio.run(main())
