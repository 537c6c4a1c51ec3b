"""INSERT ... ON CONFLICT DO NOTHING RETURNING for batches, on PostgreSQL and SQLite.

The ORM's bulk_create(ignore_conflicts=True) cannot say which rows were inserted; ingest
needs exactly that to count duplicates correctly when identical batches race.

On PostgreSQL rows go through COPY into a per-connection temporary table and one
INSERT ... SELECT: a multi-row VALUES statement with ~13,000 parameters costs more to build
client-side (~90 ms per 1,000 rows) than the insert itself.
"""

from django.db import connection, transaction

# Stay well under SQLite's 32,766 bind parameters.
MAX_PARAMS_PER_STATEMENT = 30_000


def insert_ignoring_conflicts(
    table: str,
    columns: list[str],
    rows: list[tuple],
    *,
    returning: list[str],
    json_columns: frozenset = frozenset(),
) -> list[tuple]:
    """Insert rows, skip those that violate a unique constraint; return the inserted rows'
    `returning` columns. JSON columns carry JSON text. All rows or none are written."""
    if not rows:
        return []
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _insert_via_copy(table, columns, rows, returning)
        return _insert_values(table, columns, rows, returning)


def _insert_values(table, columns, rows, returning):
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(columns))
    per_statement = max(1, MAX_PARAMS_PER_STATEMENT // len(columns))
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    tail = f" ON CONFLICT DO NOTHING RETURNING {', '.join(quote(c) for c in returning)}"
    inserted: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join([f"({placeholders})"] * len(chunk))
            cursor.execute(head + values + tail, [value for row in chunk for value in row])
            inserted.extend(cursor.fetchall())
    return inserted


def _staged(cursor, prefix: str, table: str, column_list: str, rows) -> str:
    """`rows` COPYed into a temporary table shaped like `table`; returns its quoted name.
    Same column types as the target, no constraints; emptied at every commit and private to
    this connection, so concurrent requests never see each other's rows."""
    quote = connection.ops.quote_name
    staging = quote(f"{prefix}_{table}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
        f"SELECT {column_list} FROM {quote(table)} WITH NO DATA"
    )
    with cursor.copy(f"COPY {staging} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return staging


def _insert_via_copy(table, columns, rows, returning):
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        staging = _staged(cursor, "_staging", table, column_list, rows)
        cursor.execute(
            f"INSERT INTO {quote(table)} ({column_list}) SELECT {column_list} FROM {staging} "
            f"ON CONFLICT DO NOTHING RETURNING {', '.join(quote(c) for c in returning)}"
        )
        inserted = cursor.fetchall()
        # Emptied now, so a second call in the same transaction starts clean (temporary
        # tables are transactional: a rolled-back savepoint takes its rows with it).
        cursor.execute(f"DELETE FROM {staging}")
    return inserted


def upsert(
    table: str, columns: list[str], rows: list[tuple], *, conflict: str, update: list[str]
) -> None:
    """Insert rows; a row whose `conflict` column matches an existing row updates that row's
    `update` columns instead. On PostgreSQL through COPY and one statement (Django's
    bulk_create(update_conflicts=True) builds 5,000-row VALUES lists at ~0.7 s each)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    tail = f" ON CONFLICT ({quote(conflict)}) DO UPDATE SET " + ", ".join(
        f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
            per_statement = max(1, MAX_PARAMS_PER_STATEMENT // len(columns))
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                cursor.execute(
                    f"INSERT INTO {quote(table)} ({column_list}) VALUES "
                    + ", ".join([placeholders] * len(chunk))
                    + tail,
                    [value for row in chunk for value in row],
                )
            return
        staging = _staged(cursor, "_upsert", table, column_list, rows)
        cursor.execute(
            f"INSERT INTO {quote(table)} ({column_list}) SELECT {column_list} FROM {staging}" + tail
        )
        cursor.execute(f"DELETE FROM {staging}")
