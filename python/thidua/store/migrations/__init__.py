"""Named schema migrations of the store, applied in order (NNNN_name.sql)."""
