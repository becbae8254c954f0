"""The staff console: server-rendered pages for staff only (anyone else is told they do not exist)."""
