-- The claiming worker, so a relay only settles rows it still holds (common/outbox.py).
ALTER TABLE reservation.outbox ADD COLUMN claimed_by text NOT NULL DEFAULT '';
