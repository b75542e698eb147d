"""SQLite schema. Dates are ISO text (``YYYY-MM-DD``) and instants fixed-width UTC text,
so comparisons on text give date and time order."""

from __future__ import annotations

from departure_screening.store.chain import GENESIS_HASH
from departure_screening.store.migrations import Migration, check_sequence

_APPEND_ONLY = tuple(
    stmt
    for table in ("assessments", "decisions", "purges")
    for stmt in (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END""",
        # Rows leave only through ``audit purge``, which holds a row in purge_guard
        # for the length of its transaction.
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            WHEN NOT EXISTS (SELECT 1 FROM purge_guard)
            BEGIN SELECT RAISE(ABORT, '{table} are removed only by audit purge'); END""",
    )
)

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
                departure_date TEXT NOT NULL,
                destination_country TEXT NOT NULL,
                assessed_at TEXT NOT NULL,
                body TEXT NOT NULL,
                chain_seq INTEGER NOT NULL UNIQUE
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
                chain_seq INTEGER PRIMARY KEY,
                assessment_id TEXT NOT NULL REFERENCES assessments (assessment_id),
                decision TEXT NOT NULL,
                officer_id TEXT NOT NULL,
                decided_at TEXT NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX decisions_assessment ON decisions (assessment_id, chain_seq)",
            """CREATE TABLE audit_chain (
                seq INTEGER PRIMARY KEY,
                record_table TEXT NOT NULL,
                record_id TEXT NOT NULL,
                record_digest TEXT NOT NULL,
                purge_key TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                purged INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX audit_chain_record ON audit_chain (record_id)",
            # One row per purge: its cutoff and the anchor it left, chained like a record.
            """CREATE TABLE purges (
                purge_id TEXT PRIMARY KEY,
                cutoff TEXT NOT NULL,
                body TEXT NOT NULL,
                chain_seq INTEGER NOT NULL UNIQUE
            )""",
            # 'head' is the last link appended, 'anchor' the last link folded away by purge.
            """CREATE TABLE chain_state (
                name TEXT PRIMARY KEY,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL
            )""",
            f"""INSERT INTO chain_state (name, seq, hash)
                VALUES ('head', 0, '{GENESIS_HASH}'), ('anchor', 0, '{GENESIS_HASH}')""",
            """CREATE TABLE group_alerts (
                alert_id INTEGER PRIMARY KEY AUTOINCREMENT,
                assessment_id TEXT NOT NULL,
                checkpoint TEXT NOT NULL,
                mode TEXT NOT NULL,
                raised_at TEXT NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX group_alerts_raised_at ON group_alerts (raised_at)",
            "CREATE TABLE purge_guard (active INTEGER NOT NULL)",
            *_APPEND_ONLY,
            """CREATE TRIGGER audit_chain_links_fixed
               BEFORE UPDATE OF seq, record_table, record_id, record_digest, purge_key, prev_hash,
               hash
               ON audit_chain
               BEGIN SELECT RAISE(ABORT, 'audit_chain links never change'); END""",
            """CREATE TRIGGER audit_chain_purged_flag BEFORE UPDATE OF purged ON audit_chain
               WHEN NOT EXISTS (SELECT 1 FROM purge_guard)
               BEGIN SELECT RAISE(ABORT, 'audit_chain links are marked only by purge'); END""",
            """CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
               WHEN NOT EXISTS (SELECT 1 FROM purge_guard)
               BEGIN SELECT RAISE(ABORT, 'audit_chain links are folded only by purge'); END""",
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
            "ALTER TABLE decisions ADD COLUMN request_id TEXT",
            "ALTER TABLE decisions ADD COLUMN fingerprint TEXT",
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
                chain_seq INTEGER NOT NULL UNIQUE
            )""",
            """CREATE TRIGGER shadow_results_no_update BEFORE UPDATE ON shadow_results
               BEGIN SELECT RAISE(ABORT, 'shadow_results are append-only'); END""",
            """CREATE TRIGGER shadow_results_no_delete BEFORE DELETE ON shadow_results
               WHEN NOT EXISTS (SELECT 1 FROM purge_guard)
               BEGIN SELECT RAISE(ABORT, 'shadow_results are removed only by audit purge'); END""",
        ),
    ),
)

check_sequence(MIGRATIONS)
