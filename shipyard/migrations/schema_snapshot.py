"""What a database's schema looks like, read from PostgreSQL's catalogs, and how two differ.

Used to prove a downgrade leaves no trace: the snapshot before a revision's upgrade must
equal the snapshot after its upgrade and downgrade. It reads more than Alembic's
autogenerate compares (enum and other types, sequences, views, functions, triggers,
constraint definitions), so a downgrade that forgets `DROP TYPE` is caught too.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, text

# alembic_version is bookkeeping, not schema: its row changes with every step.
_IGNORED_TABLES = ("alembic_version",)

_QUERIES: dict[str, str] = {
    "column": """
        SELECT c.table_name || '.' || c.column_name,
               c.data_type || coalesce('(' || c.character_maximum_length || ')', '')
               || CASE WHEN c.is_nullable = 'NO' THEN ' not null' ELSE ' null' END
               || coalesce(' default ' || c.column_default, '')
        FROM information_schema.columns c
        WHERE c.table_schema = current_schema() AND c.table_name NOT IN :ignored
    """,
    "index": """
        SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename NOT IN :ignored
    """,
    "constraint": """
        SELECT rel.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
        WHERE rel.relnamespace = current_schema()::regnamespace
          AND rel.relname NOT IN :ignored
    """,
    "relation": """
        SELECT relname, relkind::text FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'v', 'm', 'S', 'p')
          AND relname NOT IN :ignored
    """,
    "type": """
        SELECT t.typname, t.typtype::text || coalesce(':' || (
            SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
            FROM pg_enum e WHERE e.enumtypid = t.oid), '')
        FROM pg_type t
        WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype IN ('e', 'd', 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.reltype = t.oid)
    """,
    "function": """
        SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               md5(pg_get_functiondef(p.oid))
        FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
          AND p.prokind IN ('f', 'p')
    """,
    "trigger": """
        SELECT tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal
          AND tgrelid::regclass::text NOT IN :ignored
    """,
}


def snapshot(connection: Connection) -> dict[str, str]:
    """Every schema object of the current schema as `kind name -> definition`."""
    found: dict[str, str] = {}
    for kind, query in _QUERIES.items():
        statement = text(query)
        if ":ignored" in query:
            statement = statement.bindparams(bindparam("ignored", expanding=True))
            rows = connection.execute(statement, {"ignored": list(_IGNORED_TABLES)})
        else:
            rows = connection.execute(statement)
        for name, definition in rows:
            found[f"{kind} {name}"] = definition
    return found


def differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What `after` has that `before` had not, lacks, or defines differently; sorted."""
    lines = [f"left behind: {key} ({after[key]})" for key in after.keys() - before.keys()]
    lines += [f"missing: {key} ({before[key]})" for key in before.keys() - after.keys()]
    lines += [
        f"changed: {key}: {before[key]} -> {after[key]}"
        for key in before.keys() & after.keys()
        if before[key] != after[key]
    ]
    return sorted(lines)
