-- The gateway's answers to tool calls, shared by every gateway replica (the first answer wins), so a
-- Vapi retry that reaches another replica gets the same bytes. Purged after the idempotency window.
CREATE TABLE reservation.tool_replies (
    tenant_id  text        NOT NULL,
    reply_key  text        NOT NULL,
    reply      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, reply_key)
);
CREATE INDEX tool_replies_by_age ON reservation.tool_replies (created_at);
