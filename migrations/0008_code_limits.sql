-- Abuse limits for one-time codes (SendOtp): counted per call and per clinic as well as per phone.
-- A code notification never took was never texted: it counts for no limit.
ALTER TABLE reservation.otp_codes ADD COLUMN handoff_failed boolean NOT NULL DEFAULT false;
-- The codes of one clinic's hour (its budget). Those of one call (3 numbers, 5 codes) use
-- otp_codes_by_call from 0007.
CREATE INDEX otp_codes_by_tenant ON reservation.otp_codes (tenant_id, created_at);
