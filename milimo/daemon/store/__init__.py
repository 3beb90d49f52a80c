"""The store: every table and every SQL statement of the daemon live in this package."""
