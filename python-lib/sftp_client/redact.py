"""Masking of secrets in dicts and text, for reprs and log lines."""

MASK = "******"

#: Config keys whose values are secrets wherever they appear.
SECRET_KEYS = frozenset([
    "password", "private_key", "private_key_passphrase", "proxy_password",
    "jump_password", "jump_private_key", "jump_private_key_passphrase",
])


def redact_config(raw):
    """A copy of a config dict with every secret value masked (nested dicts too)."""
    if not isinstance(raw, dict):
        return raw
    clean = {}
    for key, value in raw.items():
        if key in SECRET_KEYS and value:
            clean[key] = MASK
        elif isinstance(value, dict):
            clean[key] = redact_config(value)
        else:
            clean[key] = value
    return clean


def redact_text(text, secrets):
    """``text`` with every non-empty secret (and its lines, for key text) masked."""
    text = str(text)
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, MASK)
        for line in str(secret).splitlines():
            line = line.strip()
            if len(line) >= 8:
                text = text.replace(line, MASK)
    return text


def mask(value):
    """What a repr shows for a secret value: whether it is set, never what it is."""
    return MASK if value else repr(value)
