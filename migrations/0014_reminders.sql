-- Reminders and patients' text replies (SPEC §11, services/reservation/reminders*.py).

-- One row per reminder text of an appointment: written in the same transaction as the booking,
-- move (pending ones DROPPED, new ones added) or cancellation (pending ones DROPPED). The worker
-- claims due rows with FOR UPDATE SKIP LOCKED and, in the same transaction, queues the text in
-- reservation.outbox and marks the row SENT (or SKIPPED): a crash rolls both back, so a reminder is
-- never lost nor queued twice, and replicas never claim the same row.
CREATE TABLE reservation.reminders (
    tenant_id      text        NOT NULL,
    reminder_id    bigint      GENERATED ALWAYS AS IDENTITY,
    reservation_id uuid        NOT NULL,
    offset_minutes int         NOT NULL CHECK (offset_minutes > 0),
    -- The appointment start this reminder is about (a move drops it and adds new ones).
    starts_at      timestamptz NOT NULL,
    -- When to send: start - offset, moved earlier out of the clinic's quiet hours.
    due_at         timestamptz NOT NULL,
    -- When it was scheduled: a reminder already due then is skipped (booked too late for it).
    scheduled_at   timestamptz NOT NULL,
    status         text        NOT NULL DEFAULT 'PENDING'
                   CHECK (status IN ('PENDING', 'SENT', 'SKIPPED', 'DROPPED')),
    skip_reason    text        NOT NULL DEFAULT '',
    phone          text        NOT NULL,
    clinic_name    text        NOT NULL DEFAULT '',
    -- The clinic's quiet hours (minutes after local midnight) and zone, for a reminder that comes
    -- due late (the workers were down): it is never sent inside them.
    timezone       text        NOT NULL,
    quiet_start    int         NOT NULL,
    quiet_end      int         NOT NULL,
    sent_at        timestamptz,
    PRIMARY KEY (tenant_id, reminder_id),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservation.reservations (tenant_id, reservation_id)
);
CREATE UNIQUE INDEX reminders_one_pending
    ON reservation.reminders (tenant_id, reservation_id, offset_minutes) WHERE status = 'PENDING';
CREATE INDEX reminders_due ON reservation.reminders (due_at) WHERE status = 'PENDING';
-- "The latest reminder sent to this number by this clinic" (a reply answers it).
CREATE INDEX reminders_sent_to ON reservation.reminders (tenant_id, phone, sent_at) WHERE status = 'SENT';

-- A patient's reply: once per inbound message (Twilio's MessageSid), with what it did.
CREATE TABLE reservation.patient_replies (
    tenant_id      text        NOT NULL,
    message_sid    text        NOT NULL,
    phone          text        NOT NULL,
    word           text        NOT NULL,
    outcome        text        NOT NULL DEFAULT '',
    reservation_id uuid,
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, message_sid)
);
-- The retention purge drops them after the idempotency window (services/reservation/retention.py).
CREATE INDEX patient_replies_by_age ON reservation.patient_replies (received_at);

-- YES to a reminder: the patient said they will come (cleared when the appointment moves).
ALTER TABLE reservation.reservations ADD COLUMN attendance_confirmed_at timestamptz;

-- The schedule feed shows it: a change that is neither a status nor a time change.
ALTER TABLE reservation.reservation_events ADD COLUMN change text NOT NULL DEFAULT '';

CREATE FUNCTION reservation.record_attendance_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.attendance_confirmed_at IS NOT NULL AND OLD.attendance_confirmed_at IS NULL THEN
        INSERT INTO reservation.reservation_events
            (tenant_id, reservation_id, from_status, to_status, provider_id, starts_at, ends_at, actor, reason,
             change)
        VALUES (NEW.tenant_id, NEW.reservation_id, OLD.status, NEW.status, NEW.provider_id, NEW.starts_at,
                NEW.ends_at, coalesce(current_setting('reservation.actor', true), ''),
                coalesce(current_setting('reservation.reason', true), ''), 'ATTENDANCE_CONFIRMED');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reservations_attendance
    AFTER UPDATE OF attendance_confirmed_at ON reservation.reservations
    FOR EACH ROW EXECUTE FUNCTION reservation.record_attendance_event();

-- The answers to replies are texts of their own kinds. The kind list is extended, not restated,
-- so kinds another feature's migration added (before or after this one) are kept.
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition FROM pg_constraint
    WHERE conrelid = 'notification.messages'::regclass AND conname = 'messages_kind_check';
    IF definition IS NOT NULL AND position('REPLY_HELP' IN definition) = 0 THEN
        EXECUTE 'ALTER TABLE notification.messages DROP CONSTRAINT messages_kind_check';
        EXECUTE 'ALTER TABLE notification.messages ADD CONSTRAINT messages_kind_check '
            || replace(definition, 'ARRAY[',
                       'ARRAY[''REPLY_HELP''::text, ''CANCEL_REFUSED''::text, ''ATTENDANCE_CONFIRMED''::text, ');
    END IF;
END;
$$;
