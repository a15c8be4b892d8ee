"""FindSlots reads date phrases in the request's language, else in the clinic's locale's (real gRPC,
real database, real reservation service)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from booking.availability.v1 import availability_pb2 as pb
from booking.common.v1 import common_pb2
from services.availability.clinic_file import load_clinic_file
from tests.conftest import Clock, Stack
from tests.functional.test_availability_grpc import DEMO_FILE, NY, SECRET_ENV, load_demo

MONDAY_7AM = datetime(2026, 11, 23, 7, 0, tzinfo=NY)  # Tuesday the 24th is "mañana"


async def load_spanish_clinic(stack: Stack) -> None:
    config = load_clinic_file(DEMO_FILE, SECRET_ENV)
    config.tenant_id, config.locale = "clinica", "es-us"
    await stack.availability_stub.UpsertClinic(pb.UpsertClinicRequest(clinic=config))


async def test_spanish_phrases_with_language_es(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    find = stack.availability_stub.FindSlots
    afternoon = await find(
        pb.FindSlotsRequest(tenant_id="demo", date="mañana por la tarde", provider_id="dr-lee", limit=3, language="es")
    )
    assert (afternoon.from_date, afternoon.to_date) == ("2026-11-24", "2026-11-24")
    assert [s.local_start for s in afternoon.slots] == ["2026-11-24T13:00", "2026-11-24T13:15", "2026-11-24T13:30"]
    assert afternoon.part_of_day == pb.PART_OF_DAY_AFTERNOON

    wrong = await find(pb.FindSlotsRequest(tenant_id="demo", date="el martes 3", language="es"))
    assert wrong.failure.cause == common_pb2.FAILURE_CAUSE_DATE_MISMATCH  # December 3rd is a Thursday
    assert (wrong.failure.reason, wrong.from_date, wrong.failure.message) == ("tuesday", "2026-12-03", "")

    english_clinic = await find(pb.FindSlotsRequest(tenant_id="demo", date="3/12", language="es", limit=1))
    assert english_clinic.from_date == "2026-12-03"  # Spanish reads the day first, whatever the clinic

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await find(pb.FindSlotsRequest(tenant_id="demo", date="mañana", language="fr"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("language")


async def test_a_clinic_whose_locale_is_es_us_reads_spanish_without_a_language(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    await load_spanish_clinic(stack)
    spanish = await stack.availability_stub.GetClinic(pb.GetClinicRequest(tenant_id="clinica"))
    english = await stack.availability_stub.GetClinic(pb.GetClinicRequest(tenant_id="demo"))
    assert (spanish.clinic.locale, english.clinic.locale) == ("es-US", "en-US")

    find = stack.availability_stub.FindSlots
    day_after = await find(pb.FindSlotsRequest(tenant_id="clinica", date="pasado mañana", limit=1))
    assert day_after.from_date == "2026-11-25" and not day_after.HasField("failure")
    numeric = await find(pb.FindSlotsRequest(tenant_id="clinica", date="3/12", limit=1))
    assert numeric.from_date == "2026-12-03"  # the 3rd of December: the day first
    english_request = await find(pb.FindSlotsRequest(tenant_id="clinica", date="next Tuesday", language="en"))
    assert english_request.from_date == "2026-12-01"
    us_numeric = await find(pb.FindSlotsRequest(tenant_id="demo", date="3/12", limit=1))
    assert us_numeric.from_date == "2027-03-12"  # the demo clinic reads the month first


async def test_after_and_before_a_time_bound_the_slots(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    await load_spanish_clinic(stack)
    find = stack.availability_stub.FindSlots
    after = await find(pb.FindSlotsRequest(tenant_id="demo", date="tomorrow after 3", limit=50))
    starts = [s.local_start[11:] for s in after.slots]
    assert starts and starts[0] == "15:00" and all(t >= "15:00" for t in starts)
    before = await find(pb.FindSlotsRequest(tenant_id="demo", date="tomorrow before 10", limit=50))
    assert [s.local_start[11:] for s in before.slots] == ["09:00", "09:15", "09:30", "09:45"]
    spanish = await find(pb.FindSlotsRequest(tenant_id="clinica", date="mañana después de las 4", limit=50))
    assert {s.local_start[11:13] for s in spanish.slots} == {"16"}  # Doctor Lee stops at 5

    closed = await find(pb.FindSlotsRequest(tenant_id="demo", date="Saturday after 2", limit=5))
    assert not closed.slots  # Doctor Patel's Saturday ends at 1: the next days' times after 2 instead
    assert closed.alternatives and all(s.local_start[11:] >= "14:00" for s in closed.alternatives)
    assert closed.alternatives[0].local_start[:10] == "2026-11-30"


async def test_a_locale_we_do_not_speak_is_refused_with_its_field(stack: Stack) -> None:
    config = load_clinic_file(DEMO_FILE, SECRET_ENV)
    config.locale = "fr-FR"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.availability_stub.UpsertClinic(pb.UpsertClinicRequest(clinic=config))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("locale: 'fr-FR' is not a supported locale")
