"""English: every sentence the assistant says, by key, and every refusal, by cause.

A second language is a sibling module with the same names and keys (`SENTENCES`, `FAILURES`,
`TOOL_FALLBACKS`, `GRAMMAR`). Placeholders in {braces} are filled by `gateway.speech.say` / `failure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from gateway.speech.grammar import Grammar

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def time_phrase(local: datetime) -> str:
    """'9 AM', '9:30 AM', '12 PM' (noon), '12 AM' (midnight)."""
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes} {'AM' if local.hour < 12 else 'PM'}"


def date_phrase(day: date) -> str:
    """'December 8th'."""
    return f"{MONTHS[day.month - 1]} {ordinal(day.day)}"


def day_phrase(day: date, today: date) -> str:
    """'today', 'tomorrow', 'Tuesday, December 8th' (with the year when it is not this one's)."""
    if day == today:
        return "today"
    delta = (day - today).days
    if delta == 1:
        return "tomorrow"
    name = f"{WEEKDAYS[day.weekday()]}, {date_phrase(day)}"
    return name if day.year == today.year or delta < 300 else f"{name}, {day.year}"


def join(items: Sequence[str], word: str = "or") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def phone_tail(phone: str) -> str:
    """'the number ending in 4 2' — never the full number."""
    digits = [c for c in phone if c.isdigit()]
    return f"the number ending in {' '.join(digits[-2:])}" if len(digits) >= 2 else "your phone"


GRAMMAR = Grammar(
    time=time_phrase, day=day_phrase, date_words=date_phrase, weekdays=WEEKDAYS, join=join,
    at=lambda day, times: f"{day} at {times}", with_provider=lambda times, provider: f"{times} with {provider}",
    group_or="; or ", phone_tail=phone_tail,
)  # fmt: skip

PHONE_INVALID = "That phone number doesn't sound right. Could you say it again with the area code?"
PRIVACY = "To protect your privacy I need to confirm it's you."
RESENDS_USED = "I've already re-sent that confirmation {limit} times today; please check your messages."
NO_PHONE_ON_APPOINTMENT = "There's no phone number on that appointment to text."
APPOINTMENT_NOT_FOUND = "I couldn't find that appointment. Shall I look up your appointments?"
TIME_UNCLEAR = "I didn't catch that time. Which of the offered times would you like?"

SENTENCES: dict[str, str] = {
    # said by Vapi itself: the greeting, and while a tool runs (gateway.tool_definitions)
    "greeting": "Thank you for calling {clinic}. How can I help you today?",
    "filler_check_availability": "Let me check the schedule.",
    "filler_reserve_slot": "One moment while I hold that time.",
    "filler_send_otp": "I'm sending you a code now.",
    "filler_verify_otp": "Let me check that code.",
    "filler_confirm_booking": "Booking that for you now.",
    "filler_send_confirmation": "Sending that text now.",
    "filler_find_appointments": "Let me look up your appointments.",
    "filler_cancel_appointment": "One moment.",
    "filler_reschedule_appointment": "One moment while I move that.",
    "filler_join_waitlist": "Adding you to the waitlist.",
    "still_working": "Still working on it, thanks for waiting.",
    "request_failed": "Sorry, I couldn't reach the schedule just now.",
    # faults and arguments the tools could not use
    "unavailable": "I'm having trouble reaching the schedule right now. Give me a moment and we can try again.",
    "failed": "I couldn't do that just now. Could you say it another way?",
    "not_found": "I couldn't find that.",
    "invalid_argument": "Something in that request didn't work. Could you say it another way?",
    "invalid_date": "I didn't catch the date. Could you say it another way, like next Tuesday or January 15th?",
    "invalid_dates": "I didn't catch the dates. Could you say them another way?",
    "invalid_slot": "That time isn't one I can book. Let me check the open times again.",
    "invalid_code": "I didn't catch the code. Could you read it again?",
    "phone_invalid": PHONE_INVALID,
    "then": "{first} {then}",  # one sentence followed by another
    "unknown_service": "I'm not sure which appointment you mean. We offer {names}.",
    "unknown_provider": "I don't know that provider. Our providers are {names}.",
    # availability: at most three times read out (gateway.speech.offers)
    "offer": "I have {options}.",
    "more_options": "I have {count} more if none of those work.",
    "wide_open": "I have {options} and many more times that day. Would morning or afternoon suit you better?",
    # DATE_MISMATCH with its details: "Tuesday the 4th" when the 4th is a Wednesday
    "date_mismatch": "{date} is a {actual}, not a {said}. Did you mean {actual}, {date}, or a different {said}?",
    "nothing_in_range": "There's nothing free in those days.",
    "nothing_near": "There's nothing free {day}.",  # day is "today" or "tomorrow"
    "nothing_on": "There's nothing free on {day}.",
    "next_openings": "{lead} The next openings: {options}",
    "latest_openings": "{lead} The latest openings I can book: {options}",
    "nothing_later": "{lead} I couldn't find an opening in the next two weeks either.",
    # holds
    "which_time": "Which time would you like? Please pick one of the times I offered.",
    "time_unclear": TIME_UNCLEAR,
    "time_unavailable": "That time isn't available. Would you like me to check what's open that day?",
    "holding": "I'm holding {when} for you for the next {minutes} minutes.",
    "holding_with": "I'm holding {when} with {provider} for you for the next {minutes} minutes.",
    # codes
    "phone_to_text": "What's the best phone number to text you at?",
    "code_sent": "I've texted a 6-digit code to {phone}. Please read it to me when it arrives.",
    "which_code": "What's the code in the text message?",
    "code_not_on_call": "I can't check the code on this call. Let me send you a new one.",
    "code_correct": "Thank you, that code is correct.",
    # appointments
    "which_hold": "Which time should I book? Let me hold one for you first.",
    "booked": "You're booked: {appointment}.",
    "booked_texted": "You're booked: {appointment}. I've sent you a confirmation text.",
    "appointment": "{what} {when}",
    "appointment_with": "{what} with {provider} {when}",
    "your_appointment": "your appointment",
    "appointment_not_found": APPOINTMENT_NOT_FOUND,
    "which_appointment_to_text": "Which appointment should I text you about?",
    "no_phone_on_appointment": NO_PHONE_ON_APPOINTMENT,
    "confirmation_sent": "I've sent the confirmation to {phone}.",
    "phone_of_appointment": "What phone number is the appointment under?",
    "no_appointments": "I don't see any upcoming appointments for that number.",
    "one_appointment": "You have one upcoming appointment: {appointments}.",
    "appointments": "You have {count} upcoming appointments: {appointments}.",
    "which_appointment_to_cancel": "Which appointment would you like to cancel?",
    "cancelled": "Done: {appointment} is cancelled.",
    "which_appointment_to_move": "Which appointment would you like to move?",
    "moved": "Done: it's now {appointment}.",
    # the waitlist: what they wait for, and how an offer reaches them
    "waitlisted": (
        "You're on the waitlist for {wanted}. If a time opens up, I'll text {phone} and hold it for you for "
        "{minutes} minutes; just reply YES to book it."
    ),
    "waitlist_days": "any day from {first} to {last}",
    "waitlist_morning": "{days} in the morning",
    "waitlist_afternoon": "{days} in the afternoon",
    "waitlist_evening": "{days} in the evening",
    "waitlist_with": "{days} with {provider}",
}

# (cause, reason, tool) -> sentence; "" matches any reason / any tool. See gateway.speech.failure.
FAILURES: dict[tuple[str, str, str], str] = {
    ("SLOT_UNAVAILABLE", "", ""): "Sorry, that time was just taken.",
    ("SLOT_UNAVAILABLE", "service_mismatch", ""): "That time is for a different kind of appointment.",
    ("SLOT_UNAVAILABLE", "not_offered", ""): "That time is no longer offered.",
    ("SLOT_ALREADY_BOOKED_BY_USER", "", ""): "You already have this time booked.",
    ("SLOT_ALREADY_BOOKED_BY_USER", "already_confirmed", ""): "That appointment is already booked.",
    ("OVERLAPPING_RESERVATION", "", ""): "You already have an appointment at that time.",
    ("NOT_FOUND", "", ""): "I couldn't find that.",
    ("NOT_FOUND", "hold_not_found", ""): "I couldn't find a held time to book.",
    ("NOT_FOUND", "hold_of_another_call", ""): "That hold belongs to another call.",
    ("NOT_FOUND", "appointment_not_found", ""): "I couldn't find that appointment.",
    ("NOT_FOUND", "not_confirmed", ""): "That appointment can't be changed.",
    ("NOT_FOUND", "not_confirmed", "cancel_appointment"): "That appointment can't be cancelled.",
    ("NOT_FOUND", "not_confirmed", "reschedule_appointment"): "That appointment can't be moved.",
    ("NOT_FOUND", "provider_does_not_offer_service", ""): "That provider doesn't offer this appointment.",
    ("LEASE_EXPIRED", "", ""): "The hold on that time ran out; let's find it again.",
    ("OTP_REQUIRED", "", ""): "Before I book, I need to verify your phone number with a code by text.",
    ("USER_OVER_BOOKING_LIMIT", "", ""): "You already have {limit} upcoming appointments, which is our limit.",
    ("BOOKING_ALREADY_CANCELLED", "", ""): "That appointment is already cancelled.",
    ("BOOKING_ALREADY_CANCELLED", "", "reschedule_appointment"): "That appointment was cancelled.",
    ("OUTSIDE_CANCELLATION_WINDOW", "", ""): (
        "It's too close to the appointment to change it by phone; please call the clinic."
    ),
    ("OUTSIDE_CANCELLATION_WINDOW", "", "cancel_appointment"): (
        "It's too close to the appointment to cancel by phone; please call the clinic."
    ),
    ("OUTSIDE_CANCELLATION_WINDOW", "", "reschedule_appointment"): (
        "It's too close to the appointment to move it by phone; please call the clinic."
    ),
    ("OTP_SEND_LIMIT", "", ""): "I've sent several codes already; please try again in a few minutes.",
    ("OTP_SEND_LIMIT", "per_call_numbers", ""): "I can only text a few numbers per call; let's use one I've texted.",
    ("OTP_SEND_LIMIT", "per_call_codes", ""): "I've sent all the codes I can on one call; please use the last one.",
    ("OTP_SEND_LIMIT", "tenant_budget", ""): "I can't send codes right now. Please try again a little later.",
    ("SEND_FAILED", "", ""): "I couldn't send the code just now; let's try again.",
    ("SEND_FAILED", "", "send_confirmation"): "I couldn't send the text.",
    ("OTP_EXPIRED", "", ""): "That code has expired; I can send a new one.",
    ("OTP_EXPIRED", "no_current_code", ""): "That code is no longer valid; I can send a new one.",
    ("OTP_MAX_ATTEMPTS", "", ""): "Too many tries for that code; I can send a new one.",
    ("OTP_INVALID", "", ""): "That code doesn't match.",
    ("DATE_IN_PAST", "", ""): "That date has already passed.",
    ("DATE_MISMATCH", "", ""): "That day of the week and that date don't match. Which one did you mean?",
    # Staff-side causes (MarkAttendance): never a caller's, worded for completeness.
    ("NOT_STARTED", "", ""): "That appointment hasn't started yet.",
    ("ATTENDANCE_ALREADY_MARKED", "", ""): "That appointment's attendance is already recorded.",
    ("DATE_IN_PAST", "time_in_past", ""): "That time has already passed.",
    ("OUTSIDE_BOOKING_WINDOW", "", ""): "We can't book that far ahead yet.",
    ("OUTSIDE_BOOKING_WINDOW", "time_not_bookable", ""): "That time can't be booked now.",
    ("OUTSIDE_WORKING_HOURS", "", ""): "That time isn't one of our appointment times.",
    ("PHONE_OPTED_OUT", "", ""): "That number has opted out of text messages.",
    ("INVALID_PHONE", "", ""): PHONE_INVALID,
    ("INVALID_PHONE", "country_not_allowed", ""): "I can't text numbers from that country. Do you have a local mobile?",
    ("INVALID_PHONE", "cannot_receive_sms", ""): "That number can't get text messages. Is there a mobile I can text?",
    ("INVALID_PHONE", "no_phone_on_appointment", ""): "There's no phone number on that appointment to text.",
    ("VERIFICATION_REQUIRED", "", ""): "I can text a code to the number on file to confirm it's you. Shall I?",
    # Caller identity: nothing of the appointment is said until the caller proves it is theirs.
    ("VERIFICATION_REQUIRED", "appointment", ""): f"{PRIVACY} Shall I text a code to the number on the appointment?",
    ("VERIFICATION_REQUIRED", "phone", ""): f"{PRIVACY} Shall I text a code to that number?",
    ("OTP_SEND_LIMIT", "confirmation_resends", ""): RESENDS_USED,
    ("INVALID_PHONE", "no_phone", ""): NO_PHONE_ON_APPOINTMENT,
    # the waitlist texts offers: only to a number the caller has shown is theirs
    ("ALREADY_ON_WAITLIST", "", ""): (
        "You're already on our waitlist for those days; I'll text you when a time opens up."
    ),
    ("WAITLIST_LIMIT", "", ""): (
        "You're already on our waitlist {limit} times, which is the most we keep for one number."
    ),
    ("VERIFICATION_REQUIRED", "no_phone", ""): (
        "I need a mobile number to text you when a time opens up. What's the best number? I'll text you a code "
        "to confirm it."
    ),
    ("VERIFICATION_REQUIRED", "phone", "join_waitlist"): (
        f"{PRIVACY} Shall I text a code to that number before I add it to the waitlist?"
    ),
}

# When a cause has no entry (FAILURE_CAUSE_UNSPECIFIED, or one newer than this table).
TOOL_FALLBACKS: dict[str, str] = {
    "check_availability": "I can't book that date.",
    "reserve_slot": "I couldn't hold that time.",
    "send_otp": "I couldn't send the code.",
    "verify_otp": "That code doesn't match.",
    "confirm_booking": "I couldn't book that.",
    "send_confirmation": "I couldn't send the text.",
    "cancel_appointment": "I couldn't cancel that.",
    "reschedule_appointment": "I couldn't move it.",
    "join_waitlist": "I couldn't add you to the waitlist.",
}
