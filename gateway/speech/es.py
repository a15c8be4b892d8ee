"""Spanish: every sentence the assistant says, by key, and every refusal, by cause (the same keys as
`en.py`), and how Spanish says times, days and lists (`GRAMMAR`).

Phone speech, formal "usted", neutral Latin American Spanish (a clinic's es-US callers). Times are
said in words with the part of the day: "a las tres y media de la tarde", "a la una y cuarto de la
tarde", "al mediodía"; days as "hoy", "mañana", "el martes 8 de diciembre". Sentences avoid gender
agreement with the names of services, which are the clinic's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from gateway.speech.grammar import Grammar

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
    "diciembre",
)  # fmt: skip
UNITS = (
    "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce", "trece",
    "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidós",
    "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve",
)  # fmt: skip
TENS = {3: "treinta", 4: "cuarenta", 5: "cincuenta"}
HOURS = ("doce", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once")


def number(n: int) -> str:
    """0..59 in words: 'veintitrés', 'cuarenta y cinco'."""
    if n < len(UNITS):
        return UNITS[n]
    tens, units = divmod(n, 10)
    return TENS[tens] if units == 0 else f"{TENS[tens]} y {UNITS[units]}"


def part_of_day(hour: int) -> str:
    if hour < 6:
        return "de la madrugada"
    if hour < 12:
        return "de la mañana"
    return "de la tarde" if hour < 20 else "de la noche"


def time_phrase(local: datetime) -> str:
    """'a las nueve de la mañana', 'a la una y media de la tarde', 'a las diez y cuarto de la noche',
    'al mediodía', 'a medianoche'."""
    if local.minute == 0 and local.hour in (0, 12):
        return "al mediodía" if local.hour == 12 else "a medianoche"
    hour = HOURS[local.hour % 12]
    minutes = {0: "", 15: " y cuarto", 30: " y media"}.get(local.minute, f" y {number(local.minute)}")
    article = "a la" if hour == "una" else "a las"
    return f"{article} {hour}{minutes} {part_of_day(local.hour)}"


def date_phrase(day: date) -> str:
    """'8 de diciembre', 'primero de diciembre'."""
    return f"{'primero' if day.day == 1 else day.day} de {MONTHS[day.month - 1]}"


def day_phrase(day: date, today: date) -> str:
    """'hoy', 'mañana', 'el martes 8 de diciembre' (with the year when it is not this one's)."""
    if day == today:
        return "hoy"
    delta = (day - today).days
    if delta == 1:
        return "mañana"
    name = f"el {WEEKDAYS[day.weekday()]} {date_phrase(day)}"
    return name if day.year == today.year or delta < 300 else f"{name} de {day.year}"


def join(items: Sequence[str], word: str = "or") -> str:
    """'a, b o c'; 'y' becomes 'e' before an i sound, 'o' becomes 'u' before an o sound."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    last = items[-1].lower()
    if word == "and":
        spoken = "e" if last.startswith(("i", "hi")) and not last.startswith(("hia", "hie", "hio")) else "y"
    else:
        spoken = "u" if last.startswith(("o", "ho")) else "o"
    return f"{', '.join(items[:-1])} {spoken} {items[-1]}"


def phone_tail(phone: str) -> str:
    """'su número que termina en 4 2' — never the full number."""
    digits = [c for c in phone if c.isdigit()]
    return f"su número que termina en {' '.join(digits[-2:])}" if len(digits) >= 2 else "su teléfono"


GRAMMAR = Grammar(
    time=time_phrase, day=day_phrase, date_words=date_phrase, weekdays=WEEKDAYS, join=join,
    at=lambda day, times: f"{day} {times}", with_provider=lambda times, provider: f"{times} con {provider}",
    group_or="; o ", phone_tail=phone_tail,
)  # fmt: skip

PHONE_INVALID = "Ese número de teléfono no parece correcto. ¿Podría repetirlo con el código de área?"
PRIVACY = "Para proteger su privacidad, necesito confirmar que es usted."
RESENDS_USED = "Ya le reenvié esa confirmación {limit} veces hoy; por favor, revise sus mensajes."
NO_PHONE_ON_APPOINTMENT = "Esa cita no tiene un número de teléfono al que enviar mensajes."
APPOINTMENT_NOT_FOUND = "No encontré esa cita. ¿Quiere que busque sus citas?"
TIME_UNCLEAR = "No entendí esa hora. ¿Cuál de las horas que le ofrecí prefiere?"

SENTENCES: dict[str, str] = {
    # said by Vapi itself: the greeting, and while a tool runs (gateway.tool_definitions)
    "greeting": "Gracias por llamar a {clinic}. ¿En qué le puedo ayudar?",
    "filler_check_availability": "Déjeme revisar la agenda.",
    "filler_reserve_slot": "Un momento, le aparto esa hora.",
    "filler_send_otp": "Le estoy enviando un código.",
    "filler_verify_otp": "Déjeme verificar ese código.",
    "filler_confirm_booking": "Le hago la reserva ahora mismo.",
    "filler_send_confirmation": "Le envío ese mensaje ahora.",
    "filler_find_appointments": "Déjeme buscar sus citas.",
    "filler_cancel_appointment": "Un momento.",
    "filler_reschedule_appointment": "Un momento, le cambio la cita.",
    "filler_join_waitlist": "Le anoto en la lista de espera.",
    "still_working": "Sigo en ello, gracias por esperar.",
    "request_failed": "Perdone, no pude acceder a la agenda en este momento.",
    # faults and arguments the tools could not use
    "unavailable": "Tengo problemas para acceder a la agenda ahora mismo. Deme un momento y lo intentamos de nuevo.",
    "failed": "No pude hacer eso ahora. ¿Podría decirlo de otra manera?",
    "not_found": "No lo encontré.",
    "invalid_argument": "Algo de esa solicitud no funcionó. ¿Podría decirlo de otra manera?",
    "invalid_date": "No entendí la fecha. ¿Podría decirla de otra forma, como el próximo martes o el 15 de enero?",
    "invalid_dates": "No entendí las fechas. ¿Podría decirlas de otra forma?",
    "invalid_slot": "No puedo reservar esa hora. Déjeme revisar de nuevo las horas libres.",
    "invalid_code": "No entendí el código. ¿Podría leerlo otra vez?",
    "phone_invalid": PHONE_INVALID,
    "then": "{first} {then}",  # one sentence followed by another
    "unknown_service": "No estoy seguro de qué tipo de cita necesita. Ofrecemos {names}.",
    "unknown_provider": "No conozco a ese profesional. Nuestros profesionales son {names}.",
    # availability: at most three times read out (gateway.speech.offers)
    "offer": "Tengo {options}.",
    "more_options": "Tengo {count} más si ninguna de esas le conviene.",
    "wide_open": "Tengo {options} y muchas horas más ese día. ¿Le conviene más por la mañana o por la tarde?",
    # DATE_MISMATCH with its details: "el martes 4" when the 4th is a Wednesday
    "date_mismatch": "El {date} es {actual}, no {said}. ¿Se refiere al {actual} {date} o a otro {said}?",
    "nothing_in_range": "No hay nada libre en esos días.",
    "nothing_near": "No hay nada libre {day}.",  # day is "hoy" or "mañana"
    "nothing_on": "No hay nada libre {day}.",  # day is "el martes 8 de diciembre"
    "next_openings": "{lead} Las próximas horas libres: {options}",
    "latest_openings": "{lead} Las últimas horas que puedo reservar: {options}",
    "nothing_later": "{lead} Tampoco encontré horas libres en las próximas dos semanas.",
    # holds
    "which_time": "¿Qué hora prefiere? Por favor, elija una de las horas que le ofrecí.",
    "time_unclear": TIME_UNCLEAR,
    "time_unavailable": "Esa hora no está disponible. ¿Quiere que revise qué hay libre ese día?",
    "holding": "Le guardo {when} durante los próximos {minutes} minutos.",
    "holding_with": "Le guardo {when} con {provider} durante los próximos {minutes} minutos.",
    # codes
    "phone_to_text": "¿A qué número de teléfono le puedo enviar un mensaje de texto?",
    "code_sent": "Le envié un código de 6 dígitos a {phone}. Por favor, léamelo cuando le llegue.",
    "which_code": "¿Cuál es el código del mensaje de texto?",
    "code_not_on_call": "No puedo verificar el código en esta llamada. Déjeme enviarle uno nuevo.",
    "code_correct": "Gracias, el código es correcto.",
    # appointments
    "which_hold": "¿Qué hora le reservo? Primero le aparto una.",
    "booked": "Listo, ya tiene su cita: {appointment}.",
    "booked_texted": "Listo, ya tiene su cita: {appointment}. Le envié un mensaje de confirmación.",
    "appointment": "{what} {when}",
    "appointment_with": "{what} con {provider} {when}",
    "your_appointment": "su cita",
    "appointment_not_found": APPOINTMENT_NOT_FOUND,
    "which_appointment_to_text": "¿Sobre qué cita le envío el mensaje?",
    "no_phone_on_appointment": NO_PHONE_ON_APPOINTMENT,
    "confirmation_sent": "Le envié la confirmación a {phone}.",
    "phone_of_appointment": "¿A qué número de teléfono está la cita?",
    "no_appointments": "No veo citas próximas para ese número.",
    "one_appointment": "Tiene una cita próxima: {appointments}.",
    "appointments": "Tiene {count} citas próximas: {appointments}.",
    "which_appointment_to_cancel": "¿Qué cita quiere cancelar?",
    "cancelled": "Listo, cancelé {appointment}.",
    "which_appointment_to_move": "¿Qué cita quiere cambiar?",
    "moved": "Listo, su cita queda así: {appointment}.",
    # the waitlist
    "waitlisted": (
        "Ya está en la lista de espera para {wanted}. Si se libera una hora, le enviaré un mensaje a {phone} y se"
        " la guardaré durante {minutes} minutos; solo responda YES para reservarla."
    ),
    "waitlist_days": "cualquier día entre {first} y {last}",
    "waitlist_morning": "{days} por la mañana",
    "waitlist_afternoon": "{days} por la tarde",
    "waitlist_evening": "{days} por la noche",
    "waitlist_with": "{days} con {provider}",
}

# (cause, reason, tool) -> sentence; "" matches any reason / any tool. See gateway.speech.failure.
FAILURES: dict[tuple[str, str, str], str] = {
    ("SLOT_UNAVAILABLE", "", ""): "Lo siento, alguien acaba de tomar esa hora.",
    ("SLOT_UNAVAILABLE", "service_mismatch", ""): "Esa hora es para otro tipo de cita.",
    ("SLOT_UNAVAILABLE", "not_offered", ""): "Esa hora ya no se ofrece.",
    ("SLOT_ALREADY_BOOKED_BY_USER", "", ""): "Ya tiene reservada esa hora.",
    ("SLOT_ALREADY_BOOKED_BY_USER", "already_confirmed", ""): "Esa cita ya está reservada.",
    ("OVERLAPPING_RESERVATION", "", ""): "Ya tiene una cita a esa hora.",
    ("NOT_FOUND", "", ""): "No lo encontré.",
    ("NOT_FOUND", "hold_not_found", ""): "No encontré ninguna hora apartada para reservar.",
    ("NOT_FOUND", "hold_of_another_call", ""): "Esa hora está apartada en otra llamada.",
    ("NOT_FOUND", "appointment_not_found", ""): "No encontré esa cita.",
    ("NOT_FOUND", "not_confirmed", ""): "Esa cita no se puede cambiar.",
    ("NOT_FOUND", "not_confirmed", "cancel_appointment"): "Esa cita no se puede cancelar.",
    ("NOT_FOUND", "not_confirmed", "reschedule_appointment"): "Esa cita no se puede cambiar de hora.",
    ("NOT_FOUND", "provider_does_not_offer_service", ""): "Ese profesional no ofrece este tipo de cita.",
    ("LEASE_EXPIRED", "", ""): "Se acabó el tiempo que le guardaba esa hora; busquémosla de nuevo.",
    ("OTP_REQUIRED", "", ""): "Antes de reservar, necesito verificar su número con un código por mensaje de texto.",
    ("USER_OVER_BOOKING_LIMIT", "", ""): "Ya tiene {limit} citas próximas, que es nuestro límite.",
    ("BOOKING_ALREADY_CANCELLED", "", ""): "Esa cita ya está cancelada.",
    ("BOOKING_ALREADY_CANCELLED", "", "reschedule_appointment"): "Esa cita fue cancelada.",
    ("OUTSIDE_CANCELLATION_WINDOW", "", ""): (
        "Falta muy poco para la cita para cambiarla por teléfono; por favor, llame a la clínica."
    ),
    ("OUTSIDE_CANCELLATION_WINDOW", "", "cancel_appointment"): (
        "Falta muy poco para la cita para cancelarla por teléfono; por favor, llame a la clínica."
    ),
    ("OUTSIDE_CANCELLATION_WINDOW", "", "reschedule_appointment"): (
        "Falta muy poco para la cita para cambiarla de hora por teléfono; por favor, llame a la clínica."
    ),
    ("OTP_SEND_LIMIT", "", ""): "Ya le envié varios códigos; por favor, inténtelo de nuevo en unos minutos.",
    ("OTP_SEND_LIMIT", "per_call_numbers", ""): (
        "Solo puedo enviar mensajes a unos pocos números por llamada; usemos uno al que ya le escribí."
    ),
    ("OTP_SEND_LIMIT", "per_call_codes", ""): "Ya envié todos los códigos que puedo en una llamada; use el último.",
    ("OTP_SEND_LIMIT", "tenant_budget", ""): "No puedo enviar códigos ahora. Por favor, inténtelo un poco más tarde.",
    ("SEND_FAILED", "", ""): "No pude enviar el código ahora; intentémoslo de nuevo.",
    ("SEND_FAILED", "", "send_confirmation"): "No pude enviar el mensaje.",
    ("OTP_EXPIRED", "", ""): "Ese código ya venció; puedo enviarle uno nuevo.",
    ("OTP_EXPIRED", "no_current_code", ""): "Ese código ya no es válido; puedo enviarle uno nuevo.",
    ("OTP_MAX_ATTEMPTS", "", ""): "Hubo demasiados intentos con ese código; puedo enviarle uno nuevo.",
    ("OTP_INVALID", "", ""): "Ese código no coincide.",
    ("DATE_IN_PAST", "", ""): "Esa fecha ya pasó.",
    ("DATE_MISMATCH", "", ""): "Ese día de la semana y esa fecha no coinciden. ¿Cuál de los dos quiso decir?",
    ("DATE_IN_PAST", "time_in_past", ""): "Esa hora ya pasó.",
    ("OUTSIDE_BOOKING_WINDOW", "", ""): "Todavía no podemos reservar con tanta anticipación.",
    ("OUTSIDE_BOOKING_WINDOW", "time_not_bookable", ""): "Esa hora no se puede reservar ahora.",
    ("OUTSIDE_WORKING_HOURS", "", ""): "Esa hora no es uno de nuestros horarios de cita.",
    ("PHONE_OPTED_OUT", "", ""): "Ese número se dio de baja de los mensajes de texto.",
    ("INVALID_PHONE", "", ""): PHONE_INVALID,
    ("INVALID_PHONE", "country_not_allowed", ""): (
        "No puedo enviar mensajes a números de ese país. ¿Tiene un celular local?"
    ),
    ("INVALID_PHONE", "cannot_receive_sms", ""): (
        "Ese número no puede recibir mensajes de texto. ¿Tiene un celular al que pueda escribirle?"
    ),
    ("INVALID_PHONE", "no_phone_on_appointment", ""): NO_PHONE_ON_APPOINTMENT,
    ("VERIFICATION_REQUIRED", "", ""): (
        "Puedo enviarle un código al número registrado para confirmar que es usted. ¿Se lo envío?"
    ),
    # Caller identity: nothing of the appointment is said until the caller proves it is theirs.
    ("VERIFICATION_REQUIRED", "appointment", ""): f"{PRIVACY} ¿Le envío un código al número de la cita?",
    ("VERIFICATION_REQUIRED", "phone", ""): f"{PRIVACY} ¿Le envío un código a ese número?",
    ("OTP_SEND_LIMIT", "confirmation_resends", ""): RESENDS_USED,
    ("INVALID_PHONE", "no_phone", ""): NO_PHONE_ON_APPOINTMENT,
    ("NOT_STARTED", "", ""): "Esa cita todavía no ha comenzado.",
    ("ATTENDANCE_ALREADY_MARKED", "", ""): "La asistencia a esa cita ya está registrada.",
    ("ALREADY_ON_WAITLIST", "", ""): (
        "Ya está en nuestra lista de espera para esos días; le enviaré un mensaje cuando se libere una hora."
    ),
    ("WAITLIST_LIMIT", "", ""): (
        "Ya está {limit} veces en nuestra lista de espera, que es el máximo que guardamos para un número."
    ),
    ("VERIFICATION_REQUIRED", "no_phone", ""): (
        "Necesito un número de celular para avisarle cuando se libere una hora. ¿Cuál es el mejor número?"
        " Le enviaré un código para confirmarlo."
    ),
    ("VERIFICATION_REQUIRED", "phone", "join_waitlist"): (
        f"{PRIVACY} ¿Le envío un código a ese número antes de anotarlo en la lista de espera?"
    ),
}

# When a cause has no entry (FAILURE_CAUSE_UNSPECIFIED, or one newer than this table).
TOOL_FALLBACKS: dict[str, str] = {
    "check_availability": "No puedo reservar esa fecha.",
    "reserve_slot": "No pude apartar esa hora.",
    "send_otp": "No pude enviar el código.",
    "verify_otp": "Ese código no coincide.",
    "confirm_booking": "No pude hacer la reserva.",
    "send_confirmation": "No pude enviar el mensaje.",
    "cancel_appointment": "No pude cancelarla.",
    "reschedule_appointment": "No pude cambiarla de hora.",
    "join_waitlist": "No pude anotarlo en la lista de espera.",
}
