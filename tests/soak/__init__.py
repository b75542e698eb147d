"""A chaos soak of two replicas on PostgreSQL (``scripts/soak``; not run by pytest)."""
