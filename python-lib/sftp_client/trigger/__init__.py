"""The "New files on SFTP" scenario trigger: settings, what it remembers, the decision
(pure) and the check (I/O)."""
