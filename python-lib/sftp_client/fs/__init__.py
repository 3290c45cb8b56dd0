"""FS provider wing: DSS managed folders and files-based datasets stored on an
SFTP service (paths confined below the root, one lazy session). Imports ``remote``,
``connect`` and the shared top-level modules; never ``sync``, ``export`` or ``dss``."""
