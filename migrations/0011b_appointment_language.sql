-- The patient's language for texts about a hold and the appointment it becomes ("en", "es";
-- "" = the clinic's locale, i.e. not chosen on a call: staff bookings). Set from the call when
-- the hold is made, updated by the call that confirms it.
ALTER TABLE reservation.reservations ADD COLUMN language text NOT NULL DEFAULT '';
