"""Dev-only code: the embedded PostgreSQL, the `make run` supervisor, process starter and the
Twilio/Vapi imitations. Imported by tests/ and bench/; never copied into the Docker image."""
