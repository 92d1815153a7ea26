"""`inv secrets.rotate`: role (the SQL side), targets (local stack or VM), rotate (the order)."""
