"""Backups that restore: streamed pg_dump and a content-addressed copy of the app bucket on
remote S3-compatible storage, with manifests, retention, verification, restore and drills.

Layout on the backup store (docs/architecture.md, Backups)::

    <prefix>/<env>/<backup-id>/postgres.dump   pg_dump custom format, zstd-compressed
    <prefix>/<env>/<backup-id>/objects.json    the app bucket: key -> size, etag, sha256
    <prefix>/<env>/objects/<sha256>            content-addressed objects, shared
    <prefix>/<env>/<backup-id>/manifest.json   written last; without it a backup is incomplete
    <prefix>/pgbackrest/<env>/                 pgBackRest's repository (WAL and base backups,
                                               point-in-time recovery: pitr*.py, pgbackrest.py)
"""
