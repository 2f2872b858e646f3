"""The database: schema, engines, idempotent chart writes and every SQL read (handed an engine)."""
