"""Schema migrations on SQLite and PostgreSQL: the models and the migrations agree, and a
database made by an older release upgrades to the newest schema with nothing lost."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from scraper.page import page_to_json
from storage import queries
from storage.db import (
    alembic_config,
    create_db_engine,
    make_sessionmaker,
    needs_upgrade,
    prepare_schema,
    upgrade,
)
from storage.snapshots import load_blob
from storage.tables import Base, Run
from tests.pages import make_document, make_organisation, make_publication

T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    engine = create_db_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def _schema(engine: Engine) -> dict[str, object]:
    """Every table as a database describes it: columns in order, keys, indexes, constraints."""
    inspector = inspect(engine)
    return {
        table: (
            [
                (column["name"], str(column["type"]), column["nullable"], column.get("default"))
                for column in inspector.get_columns(table)
            ],
            inspector.get_pk_constraint(table),
            sorted(map(repr, inspector.get_foreign_keys(table))),
            sorted(map(repr, inspector.get_indexes(table))),
            sorted(map(repr, inspector.get_unique_constraints(table))),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_a_new_database_is_what_the_migrations_make(database_url: str) -> None:
    """A first run creates the schema from the models (no Alembic): the same tables, columns in
    the same order, keys and indexes as upgrading an empty database, at the same revision."""
    engine = create_db_engine(database_url)
    upgrade(engine)
    migrated = _schema(engine)
    command.downgrade(alembic_config(engine), "base")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert set(_schema(engine)) == set()
    prepare_schema(engine)
    assert _schema(engine) == migrated
    assert not needs_upgrade(engine)
    upgrade(engine)  # Alembic agrees: nothing to do at the head
    assert _schema(engine) == migrated
    engine.dispose()


def test_an_older_database_is_upgraded_not_created(database_url: str) -> None:
    engine = create_db_engine(database_url)
    command.upgrade(alembic_config(engine), "0001")
    _insert_0001_store(engine)
    prepare_schema(engine)
    assert not needs_upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM page_version")).scalar() == 2
    engine.dispose()


def _insert_0001_store(engine: Engine) -> tuple[str, str, bytes]:
    """One finished run as release 0001 stored it: a publication and a document, zlib blobs."""
    document = make_document(
        "Trials", organisations=[make_organisation("AMRC"), make_organisation("CPRD")]
    )
    publication = make_publication([document])
    body = b"<html><body>the document as fetched</body></html>"
    key = "a" * 64
    now = T0.replace(tzinfo=None)
    with engine.begin() as connection:
        run = {"id": 1, "now": now}
        connection.execute(
            text(
                "INSERT INTO run (id, started_at, finished_at, trigger, status, pages_fetched, "
                "pages_new, pages_changed, pages_unchanged, pages_not_modified, pages_gone, "
                "pages_errors, pages_anomalies, has_changes, summary_json) VALUES (:id, :now, "
                ":now, 'manual', 'ok', 2, 2, 0, 0, 0, 0, 0, 0, false, '{}')"
            ),
            run,
        )
        connection.execute(
            text("INSERT INTO blob VALUES (:key, 'zlib', :size, :data)"),
            {"key": key, "size": len(body), "data": zlib.compress(body)},
        )
        for page_id, page, blob in ((1, publication, None), (2, document, key)):
            connection.execute(
                text("INSERT INTO page VALUES (:id, :url, :kind, :now, :now)"),
                {"id": page_id, "url": page.url, "kind": page.kind, "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO page_version (id, page_id, run_id, created_at, content_hash, "
                    "content_json, text, blob_sha256, source_fingerprint) VALUES (:id, :id, 1, "
                    ":now, :hash, :json, :text, :blob, :fingerprint)"
                ),
                {
                    "id": page_id,
                    "now": now,
                    "hash": "h" * 64,
                    "json": page_to_json(page),
                    "text": getattr(page, "text", ""),
                    "blob": blob,
                    "fingerprint": "f" * 64 if blob else None,
                },
            )
        connection.execute(
            text(
                "INSERT INTO organisation (version_id, position, name, url, description, stage, "
                "stage_heading, links_json) VALUES (2, 0, 'AMRC', NULL, 'd', 's', 'h', '[]')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO update_entry (version_id, position, date, note) VALUES (1, 0, :d, :n)"
            ),
            {"d": "2021-12-01", "n": "First published."},
        )
    return page_to_json(publication), page_to_json(document), body


def test_a_0001_database_with_data_upgrades_to_head_without_loss(database_url: str) -> None:
    engine = create_db_engine(database_url)
    command.upgrade(alembic_config(engine), "0001")
    publication_json, document_json, body = _insert_0001_store(engine)
    assert needs_upgrade(engine)

    upgrade(engine)

    assert not needs_upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        state = queries.state_at(session, session.get_one(Run, 1))
        assert sorted(page_to_json(page) for page in state.pages.values()) == sorted(
            [publication_json, document_json]
        )
        assert load_blob(session, "a" * 64) == body  # zlib blobs still read
        versions = session.execute(
            text("SELECT parser_version, content_hash, source_fingerprint FROM page_version")
        ).all()
        # Versions from before parser versions were recorded: re-parsed by the next run.
        assert {tuple(row) for row in versions} == {(0, "h" * 64, None), (0, "h" * 64, "f" * 64)}
        counts = [
            session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("run", "page", "observation", "organisation", "update_entry", "blob")
        ]
        assert counts == [1, 2, 0, 1, 1, 1]
        assert json.loads(session.get_one(Run, 1).summary_json or "") == {}
    engine.dispose()


def test_the_upgrade_can_be_undone(database_url: str) -> None:
    engine = create_db_engine(database_url)
    command.upgrade(alembic_config(engine), "0001")
    publication_json, document_json, _ = _insert_0001_store(engine)
    upgrade(engine)
    command.downgrade(alembic_config(engine), "0001")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT content_json, text FROM page_version ORDER BY id")
        ).all()
    assert [tuple(row) for row in rows] == [
        (publication_json, ""),
        (document_json, json.loads(document_json)["text"]),
    ]
    engine.dispose()
