"""Trigger wing: the "New files on SFTP" scenario trigger's settings, what it
remembers between checks (bounded sketches in a project variable), the decision
(pure) and the check (one listing). Imports ``remote``, ``connect`` and the shared
top-level modules; never ``sync``, ``export``, ``fs`` or ``dss``."""
