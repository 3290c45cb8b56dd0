"""DSS-facing wing: what the entry points share (logging, roles, reports), the
remote path picker's choices and the staged connection test behind the macro.
Imports ``remote``, ``connect`` and the shared modules; never another component."""
