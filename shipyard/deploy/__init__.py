"""Deploys to one VM over SSH: plan (pure), lock, bundle, image shipping, switch, gate,
rollback, audit, prune (docs/architecture.md, "Deploy, step by step")."""
