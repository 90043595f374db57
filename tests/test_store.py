"""Writing rows: the executemany path stores what sqlite-utils would store."""

from __future__ import annotations

import pytest
from sqlite_utils import Database
from sqlite_utils.db import PrimaryKeyRequired

from jobs import store

ROWS = [
    {"id": "a", "n": 1, "flag": True, "tags": ["x", "é"], "info": {"k": 1}},
    {"id": "b", "n": 2.5, "flag": False, "tags": [], "info": None},
]


@pytest.fixture
def db(tmp_path):
    database = store.open_database(tmp_path / "zoom.db")
    yield database
    database.close()


def stored(db: Database, table: str) -> list[tuple]:
    return db.execute(f"select * from [{table}] order by 1").fetchall()


def test_rows_stored_as_sqlite_utils_stores_them(db, tmp_path):
    reference = Database(tmp_path / "reference.db")
    reference["t"].upsert_all(ROWS, pk="id", alter=True)
    reference["t"].upsert_all(ROWS, pk="id", alter=True)

    # The first write creates the table; the second takes the executemany path.
    store.upsert(db, "t", ROWS, pk="id")
    store.upsert(db, "t", ROWS, pk="id")

    assert stored(db, "t") == stored(reference, "t")
    assert stored(db, "t")[0][3] == '["x", "é"]'


def test_columns_named_by_other_rows_set_to_null(db):
    store.upsert(db, "t", [{"id": "a", "n": 1, "note": "kept"}], pk="id")
    store.upsert(db, "t", [{"id": "a", "n": 2, "note": "kept"}], pk="id")

    store.upsert(db, "t", [{"id": "a", "n": 3}, {"id": "b", "note": "x"}], pk="id")
    store.upsert(db, "t", [{"id": "a", "n": 4}], pk="id")

    assert stored(db, "t") == [("a", 4, None), ("b", None, "x")]


def test_new_field_adds_a_column(db):
    store.upsert(db, "t", [{"id": "a", "n": 1}], pk="id")
    store.upsert(db, "t", [{"id": "b", "n": 2}], pk="id")

    store.upsert(db, "t", [{"id": "c", "n": 3, "extra": "e"}], pk="id")
    store.upsert(db, "t", [{"id": "d", "n": 4, "extra": "f"}], pk="id")

    assert stored(db, "t")[-2:] == [("c", 3, "e"), ("d", 4, "f")]


def test_compound_key_upserts_in_place(db):
    key = ("a", "b")
    store.upsert(db, "t", [{"a": 1, "b": 2, "v": "old"}], pk=key)

    store.upsert(db, "t", [{"a": 1, "b": 2, "v": "new"}, {"a": 1, "b": 3}], pk=key)

    assert stored(db, "t") == [(1, 2, "new"), (1, 3, None)]


def test_missing_key_rejected(db):
    store.upsert(db, "t", [{"id": "a", "n": 1}], pk="id")

    with pytest.raises(PrimaryKeyRequired):
        store.upsert(db, "t", [{"id": None, "n": 2}], pk="id")
    assert stored(db, "t") == [("a", 1)]
