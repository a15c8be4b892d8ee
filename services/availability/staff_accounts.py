"""Staff accounts for the clinic's console: argon2id password hashes (argon2-cffi) and the gRPC
methods that manage and check them (service token only; see server.py).

Hashing is slow on purpose (OWASP's argon2id setting: 19 MiB, 2 passes, 1 lane: ~0.1 s a check),
so it runs in a thread, a few at a time, off the event loop. An unknown email is checked against a hash of a
random password made with the same parameters: it costs the same and answers the same."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets

import grpc
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from booking.availability.v1 import availability_pb2 as pb
from common.grpc_errors import invalid
from common.timestamps import to_timestamp
from services.availability.staff_repository import StaffRepository

MIN_PASSWORD, MAX_PASSWORD = 12, 1024
MAX_EMAIL = 254
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Hashes at once per process: each takes 19 MiB and a core for ~0.1 s; more would only queue in memory.
CONCURRENT_HASHES = 4


def make_hasher() -> PasswordHasher:
    """argon2id with OWASP's recommended minimum (m=19 MiB, t=2, p=1); a stored hash made with other
    parameters still verifies and is rehashed at the next sign-in."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def session_stamp(password_hash: str) -> str:
    """What console sessions of an account are bound to: it changes with the hash (every new
    password, and every account made again, has a new salt). A digest: the hash never leaves."""
    return hashlib.sha256(b"console session stamp\x00" + password_hash.encode()).hexdigest()[:32]


def email_problem(email: str) -> str | None:
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        return "not an email address"
    return None


def password_problem(password: str) -> str | None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
    return None


class Passwords:
    """argon2id hashing off the event loop, a few at a time."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or make_hasher()
        self._slots = asyncio.Semaphore(CONCURRENT_HASHES)
        self._decoy = ""  # made at the first check (not at start: every test stack would pay for it)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    def _check(self, stored: str | None, password: str) -> bool:
        if stored is None and not self._decoy:
            self._decoy = self.hasher.hash(secrets.token_urlsafe(24))
        try:
            return self.hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; None stored (no account) takes as long and is False."""
        async with self._slots:
            return await asyncio.to_thread(self._check, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


async def _account(context: grpc.aio.ServicerContext, tenant_id: str, email: str) -> str:
    """The email in the form stored (lower case), or INVALID_ARGUMENT naming the field."""
    if not tenant_id:
        await invalid(context, "tenant_id is required")
    email = email.strip().lower()
    problem = email_problem(email)
    if problem:
        await invalid(context, f"email: {problem}")
    return email


class StaffRpcs:
    """AvailabilityService methods for staff accounts (mixed into the servicer, which sets these)."""

    staff: StaffRepository
    passwords: Passwords

    async def CreateStaffAccount(
        self, request: pb.CreateStaffAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateStaffAccountResponse:
        email = await _account(context, request.tenant_id, request.email)
        problem = password_problem(request.password)
        if problem:
            await invalid(context, f"password: {problem}")
        if not await self.staff.tenant_exists(request.tenant_id):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"tenant_id: no clinic {request.tenant_id!r}")
        hashed = await self.passwords.hash(request.password)
        created = await self.staff.save(request.tenant_id, email, hashed, request.replace)
        if created is None:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"email: {email} already has an account")
        return pb.CreateStaffAccountResponse(created=bool(created))

    async def ListStaffAccounts(
        self, request: pb.ListStaffAccountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStaffAccountsResponse:
        if not request.tenant_id:
            await invalid(context, "tenant_id is required")
        accounts = [
            pb.StaffAccount(
                email=a.email, created_at=to_timestamp(a.created_at), session_stamp=session_stamp(a.password_hash)
            )
            for a in await self.staff.accounts(request.tenant_id)
        ]
        return pb.ListStaffAccountsResponse(accounts=accounts)

    async def RemoveStaffAccount(
        self, request: pb.RemoveStaffAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveStaffAccountResponse:
        email = await _account(context, request.tenant_id, request.email)
        return pb.RemoveStaffAccountResponse(removed=await self.staff.remove(request.tenant_id, email))

    async def VerifyStaffPassword(
        self, request: pb.VerifyStaffPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyStaffPasswordResponse:
        if not request.tenant_id:
            await invalid(context, "tenant_id is required")
        email = request.email.strip().lower()[:MAX_EMAIL]
        password = request.password
        stored = await self.staff.password_hash(request.tenant_id, email)
        if len(password) > MAX_PASSWORD:  # never a password: checked (as the decoy) without hashing megabytes
            stored, password = None, ""
        verified = await self.passwords.verify(stored, password)
        if verified and stored is not None and self.passwords.needs_rehash(stored):
            await self.staff.update_hash(request.tenant_id, email, stored, await self.passwords.hash(password))
        return pb.VerifyStaffPasswordResponse(verified=verified)
