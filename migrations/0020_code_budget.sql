-- SendOtp under load (issue #19). Every code of a clinic took the clinic's budget lock first and
-- held it through the rest of its transaction (four round trips), so a clinic's sends queued
-- behind each other. Now the call's and the phone's limits are counted first (their locks are
-- rarely shared), and the clinic's lock is taken last, in the function that checks the budget and
-- writes the code: only this one round trip and the commit run under it. Functions, so each read
-- runs after its lock is granted and sees what the previous holder committed.

-- The call's and the phone's locks (in this order), then what they count: codes to the phone
-- since p_phone_since, codes of the call, and the numbers the call texted. Handed-off-failed codes
-- were never texted and count for nothing.
CREATE FUNCTION reservation.lock_and_count_sends(
    p_keys text[], p_tenant text, p_phone text, p_call text, p_phone_since timestamptz,
    OUT to_phone integer, OUT in_call integer, OUT call_numbers text[]
)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reservation.lock_keys(p_keys);
    SELECT count(*) FILTER (WHERE c.phone = p_phone AND c.created_at > p_phone_since),
           count(*) FILTER (WHERE p_call <> '' AND c.call_id = p_call),
           array_agg(DISTINCT c.phone) FILTER (WHERE p_call <> '' AND c.call_id = p_call)
    INTO to_phone, in_call, call_numbers
    FROM reservation.otp_codes c
    WHERE c.tenant_id = p_tenant AND NOT c.handoff_failed
      AND (c.phone = p_phone OR (p_call <> '' AND c.call_id = p_call));
END;
$$;

-- The clinic's lock (as ReservationRepository.lock_key(tenant, 'otp', 'budget'): two parts, so no
-- idempotency key — one part, never a control character — can name the same lock), its codes since
-- p_budget_since, and — when fewer than p_budget — the new code: older live codes of this phone
-- and call superseded, the code inserted, the idempotency key (if any) marked in flight. Returns
-- the codes already spent and the new code's id (NULL when the budget is spent).
CREATE FUNCTION reservation.insert_code_within_budget(
    p_tenant text, p_phone text, p_call text, p_code_hash bytea, p_salt bytea, p_now timestamptz,
    p_expires_at timestamptz, p_budget integer, p_budget_since timestamptz, p_key text,
    OUT spent integer, OUT otp_id text
)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant || chr(31) || 'otp' || chr(31) || 'budget', 0));
    SELECT count(*) INTO spent FROM reservation.otp_codes c
    WHERE c.tenant_id = p_tenant AND NOT c.handoff_failed AND c.created_at > p_budget_since;
    IF spent >= p_budget THEN
        RETURN;
    END IF;
    UPDATE reservation.otp_codes c SET superseded = true
    WHERE c.tenant_id = p_tenant AND c.phone = p_phone AND c.call_id = p_call
      AND NOT c.superseded AND c.verified_at IS NULL;
    INSERT INTO reservation.otp_codes AS c (tenant_id, phone, call_id, code_hash, salt, created_at, expires_at)
    VALUES (p_tenant, p_phone, p_call, p_code_hash, p_salt, p_now, p_expires_at)
    RETURNING c.otp_id::text INTO otp_id;
    IF p_key <> '' THEN
        INSERT INTO reservation.idempotency_keys (tenant_id, idempotency_key, method, response)
        VALUES (p_tenant, p_key, 'SendOtp', ''::bytea)
        ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET response = ''::bytea, created_at = now();
    END IF;
END;
$$;
