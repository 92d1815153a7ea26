"""Migration tests on a throwaway PostgreSQL: heads, stairway, models, no trace, data."""
