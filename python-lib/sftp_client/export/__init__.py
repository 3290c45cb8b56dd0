"""Export wing: the "Export to SFTP" exporter's options, cell formatting and
streaming writer. Imports ``remote``, ``connect`` and the shared top-level modules;
never ``sync``, ``fs`` or ``dss``."""
