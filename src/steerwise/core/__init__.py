"""Plain domain types and errors; no I/O."""
