"""Patient phones as a credential without patient contact data sees them (pure)."""

from __future__ import annotations

import pytest

from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as pb
from common.contact_data import masking
from common.phones import masked
from services.notification.server import PATIENT_PHONES as NOTIFICATION_PHONES
from services.reservation.server import PATIENT_PHONES


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+12125551234", "+1******1234"),
        ("+442079460958", "+44******0958"),
        ("+4930123", "+49***23"),  # short: never more than half of the national digits shown
        ("", ""),
        ("garbage", ""),
    ],
)
def test_a_masked_phone_keeps_the_country_code_and_at_most_four_last_digits(phone: str, shown: str) -> None:
    assert masked(phone) == shown


def test_every_patient_phone_of_a_reply_is_masked_nested_and_repeated_and_the_original_is_untouched() -> None:
    patient = pb.Patient(name="Ann", phone="+12125551234")
    reply = pb.ListAppointmentsResponse(
        appointments=[pb.Appointment(patient=patient), pb.Appointment(patient=pb.Patient(phone="+12125550007"))]
    )
    shown = PATIENT_PHONES(reply)
    assert [a.patient.phone for a in shown.appointments] == ["+1******1234", "+1******0007"]
    assert shown.appointments[0].patient.name == "Ann"
    assert reply.appointments[0].patient.phone == "+12125551234"  # may be a stored idempotent reply
    hold = PATIENT_PHONES(pb.CreateHoldResponse(hold=pb.Hold(patient=patient)))
    assert hold.hold.patient.phone == "+1******1234"
    assert PATIENT_PHONES(pb.ReleaseHoldResponse(released=True)) == pb.ReleaseHoldResponse(released=True)


def test_the_numbers_texted_are_masked_in_notification_replies() -> None:
    reply = npb.ListMessagesResponse(messages=[npb.Message(to="+12125551234", body="hello")])
    assert NOTIFICATION_PHONES(reply).messages[0].to == "+1******1234"


def test_a_masking_names_fields_by_message_type_only() -> None:
    redact = masking({"booking.reservation.v1.Patient": "phone"})
    request = pb.FindAppointmentsRequest(phone="+12125551234")  # a phone outside a Patient: not this rule's
    assert redact(request).phone == "+12125551234"
