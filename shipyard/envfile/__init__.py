"""Env files: one schema, lint, per-environment validation, secret generation and masking.

Modules, each with one job: `schema` (every variable the stack reads), `load` (parse a
file alone, register its secrets for masking), `lint` (the file's syntax), `rules` (values
against the schema), `secrets` (strength and generation), `crosscheck` (compose files,
nginx templates, the public URL, S3), `findings` (what a check reports), `check` (all of
them), `render` (quoting and layout), `generated` (.env.example and the docs reference),
`init` (a new file with fresh secrets), `diff` (two files side by side).
"""
