"""Readers of DSS form fields, shared by every component's settings: values as DSS
hands them (INT fields as floats, BOOLEAN fields as text), errors naming the field by
the label the form shows and never echoing a value.
"""
from sftp_client.errors import ConfigError

def text_param(raw, name, default="", labels=None):
    """A text field; ``labels`` maps field names to form labels (default: the
    preset's)."""
    value = raw.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError((labels or {}).get(name, name), "expected text.")
    return value


def integer_param(raw, name, default, low, high, label=None):
    """INT fields may arrive as 22, 22.0 or "22"; anything else is refused."""
    label = label or name
    value = raw.get(name)
    if value is None or value == "":
        return default
    # Values are not echoed: a secret typed into the wrong field must not leak.
    if isinstance(value, bool):
        raise ConfigError(label, "expected a whole number, got true/false.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(label, "expected a whole number, got text.") from None
    if number != number or number in (float("inf"), float("-inf")) \
            or number != int(number):
        raise ConfigError(label, "expected a whole number, got %s." % number)
    number = int(number)
    if not low <= number <= high:
        raise ConfigError(label, "must be between %d and %d, got %d." % (low, high, number))
    return number


def choice_param(raw, name, choices, default, labels=None):
    """A SELECT field: one of ``choices``; empty gives ``default``."""
    value = text_param(raw, name, default, labels) or default
    if value not in choices:
        raise ConfigError((labels or {}).get(name, name), "must be one of %s, got "
                                                              "%r." % (", ".join(choices),
                                                                       value))
    return value


def boolean_param(raw, name, default, labels=None):
    """A BOOLEAN field, also accepted as "true"/"false" text; empty gives ``default``."""
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError((labels or {}).get(name, name), "expected true or false.")


def patterns_param(raw, name, label):
    """A STRINGS field of glob patterns (also accepted as one text); blank entries
    dropped."""
    value = raw.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(label, "expected a list of glob patterns.")
    return tuple(p.strip() for p in value if isinstance(p, str) and p.strip())
