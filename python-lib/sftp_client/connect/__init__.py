"""Connection wing: validated settings from DSS form fields, the admins' policy,
keys and host keys, proxies, and the verified SSH session with its SFTP channels.
Imports only the shared top-level modules (errors, redact, ...), never a wing."""
