"""PostgreSQL schema, in the database's default schema (``search_path``)."""

from __future__ import annotations

from departure_screening.store.chain import GENESIS_HASH
from departure_screening.store.migrations import Migration, check_sequence

# Rows leave only through ``audit purge``, which sets depscreen.purge for its transaction.
_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION depscreen_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('depscreen.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% rows are append-only (they leave only through audit purge)',
        TG_TABLE_NAME;
END $$"""

_CHAIN_GUARD_FUNCTION = """
CREATE FUNCTION depscreen_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('depscreen.purge', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        IF (NEW.seq, NEW.record_table, NEW.record_id, NEW.record_digest, NEW.purge_key,
            NEW.prev_hash, NEW.hash) IS NOT DISTINCT FROM (OLD.seq, OLD.record_table,
            OLD.record_id, OLD.record_digest, OLD.purge_key, OLD.prev_hash, OLD.hash) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_chain links never change (only audit purge marks or folds them)';
END $$"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "assessments, decisions, audit chain, alerts",
        (
            """CREATE TABLE assessments (
                assessment_id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL UNIQUE,
                fingerprint TEXT NOT NULL,
                mode TEXT NOT NULL,
                checkpoint TEXT NOT NULL,
                traveller_key TEXT NOT NULL,
                escort_key TEXT NOT NULL,
                group_key TEXT NOT NULL,
                flight_number TEXT NOT NULL,
                departure_date DATE NOT NULL,
                destination_country TEXT NOT NULL,
                assessed_at TIMESTAMPTZ NOT NULL,
                body TEXT NOT NULL,
                chain_seq BIGINT NOT NULL UNIQUE
            )""",
            # One index per history query: group members, escort trips, own earlier trips.
            """CREATE INDEX assessments_group ON assessments (group_key, mode, chain_seq)
               WHERE group_key <> ''""",
            """CREATE INDEX assessments_escort
               ON assessments (escort_key, mode, departure_date, destination_country)
               WHERE escort_key <> ''""",
            """CREATE INDEX assessments_traveller
               ON assessments (traveller_key, mode, departure_date)""",
            "CREATE INDEX assessments_assessed_at ON assessments (assessed_at)",
            """CREATE TABLE decisions (
                chain_seq BIGINT PRIMARY KEY,
                assessment_id TEXT NOT NULL REFERENCES assessments (assessment_id),
                decision TEXT NOT NULL,
                officer_id TEXT NOT NULL,
                decided_at TIMESTAMPTZ NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX decisions_assessment ON decisions (assessment_id, chain_seq)",
            """CREATE TABLE audit_chain (
                seq BIGINT PRIMARY KEY,
                record_table TEXT NOT NULL,
                record_id TEXT NOT NULL,
                record_digest TEXT NOT NULL,
                purge_key TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                purged BOOLEAN NOT NULL DEFAULT FALSE
            )""",
            "CREATE INDEX audit_chain_record ON audit_chain (record_id)",
            # One row per purge: its cutoff and the anchor it left, chained like a record.
            """CREATE TABLE purges (
                purge_id TEXT PRIMARY KEY,
                cutoff TEXT NOT NULL,
                body TEXT NOT NULL,
                chain_seq BIGINT NOT NULL UNIQUE
            )""",
            # 'head' is the last link appended, 'anchor' the last link folded away by purge.
            # Appending locks the 'head' row, which orders the chain across replicas.
            """CREATE TABLE chain_state (
                name TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                hash TEXT NOT NULL
            )""",
            f"""INSERT INTO chain_state (name, seq, hash)
                VALUES ('head', 0, '{GENESIS_HASH}'), ('anchor', 0, '{GENESIS_HASH}')""",
            """CREATE TABLE group_alerts (
                alert_id BIGSERIAL PRIMARY KEY,
                assessment_id TEXT NOT NULL,
                checkpoint TEXT NOT NULL,
                mode TEXT NOT NULL,
                raised_at TIMESTAMPTZ NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX group_alerts_raised_at ON group_alerts (raised_at)",
            _APPEND_ONLY_FUNCTION,
            _CHAIN_GUARD_FUNCTION,
            """CREATE TRIGGER assessments_append_only BEFORE UPDATE OR DELETE ON assessments
               FOR EACH ROW EXECUTE FUNCTION depscreen_append_only()""",
            """CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
               FOR EACH ROW EXECUTE FUNCTION depscreen_append_only()""",
            """CREATE TRIGGER purges_append_only BEFORE UPDATE OR DELETE ON purges
               FOR EACH ROW EXECUTE FUNCTION depscreen_append_only()""",
            """CREATE TRIGGER audit_chain_guard BEFORE UPDATE OR DELETE ON audit_chain
               FOR EACH ROW EXECUTE FUNCTION depscreen_chain_guard()""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        2,
        "request ids of decisions",
        (
            # Old decisions keep NULL: they had no request id, and the chain's digest of
            # them covers only the columns they had.
            "ALTER TABLE decisions ADD COLUMN request_id TEXT, ADD COLUMN fingerprint TEXT",
            """CREATE UNIQUE INDEX decisions_request_id ON decisions (request_id)
               WHERE request_id IS NOT NULL""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        3,
        "shadow results beside assessments",
        (
            # One per assessment, chained like a decision and purged with its assessment.
            """CREATE TABLE shadow_results (
                assessment_id TEXT PRIMARY KEY REFERENCES assessments (assessment_id),
                ruleset_version TEXT NOT NULL,
                band TEXT NOT NULL,
                body TEXT NOT NULL,
                chain_seq BIGINT NOT NULL UNIQUE
            )""",
            """CREATE TRIGGER shadow_results_append_only BEFORE UPDATE OR DELETE
               ON shadow_results FOR EACH ROW EXECUTE FUNCTION depscreen_append_only()""",
        ),
    ),
)

check_sequence(MIGRATIONS)
