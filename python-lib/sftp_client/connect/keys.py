"""SSH keys: loading private keys, parsing public key lines, fingerprints.

Private keys load from a file path or from pasted text, in OpenSSH or PEM format,
with an optional passphrase, for every key type the installed paramiko supports.
The type and the encryption of a key are read from the key itself first, so that a
missing or wrong passphrase gets its own message instead of paramiko's guesses.
"""
import base64
import binascii
import hashlib
import io
import re
import struct

import paramiko

from sftp_client.errors import ConfigError

_PEM_RE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_OPENSSH_MAGIC = b"openssh-key-v1\x00"

#: Key classes by SSH key type name, as far as this paramiko has them.
_KEY_CLASSES = {"ssh-ed25519": "Ed25519Key", "ssh-rsa": "RSAKey",
                "ecdsa-sha2-nistp256": "ECDSAKey", "ecdsa-sha2-nistp384": "ECDSAKey",
                "ecdsa-sha2-nistp521": "ECDSAKey", "ssh-dss": "DSSKey"}
_PEM_TAG_TYPES = {"RSA PRIVATE KEY": "ssh-rsa", "EC PRIVATE KEY": "ecdsa-sha2-nistp256",
                  "DSA PRIVATE KEY": "ssh-dss"}

#: Host key algorithm names a public key type may be negotiated under.
HOST_KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


def fingerprint(key_blob):
    """OpenSSH's ``SHA256:...`` fingerprint of a public key blob (bytes)."""
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def key_fingerprint(pkey):
    return fingerprint(pkey.asbytes())


def _read_string(blob, offset):
    (length,) = struct.unpack(">I", blob[offset:offset + 4])
    start = offset + 4
    if start + length > len(blob):
        raise ValueError("truncated")
    return blob[start:start + length], start + length


def blob_key_type(blob):
    """The key type name at the start of a public key blob."""
    name, _ = _read_string(blob, 0)
    return name.decode("ascii")


def parse_public_key(text, field):
    """Find ``<type> <base64>`` in a public key or known_hosts line.

    Returns ``(key_type, blob)``; raises ConfigError naming ``field`` otherwise.
    """
    tokens = text.split()
    for index, token in enumerate(tokens[:-1]):
        if token in _KEY_CLASSES or token.startswith(("ecdsa-", "sk-", "ssh-")):
            try:
                blob = base64.b64decode(tokens[index + 1].encode("ascii"), validate=True)
                if blob_key_type(blob) == token:
                    return token, blob
            except (binascii.Error, ValueError, struct.error, UnicodeError):
                pass
            raise ConfigError(field, "the public key after '%s' is not valid base64 key "
                                     "data; copy the whole line again." % token)
    raise ConfigError(field, "expected a SHA256 fingerprint such as 'SHA256:AbC...' "
                             "(ssh-keygen -lf) or a public key line such as "
                             "'ssh-ed25519 AAAA...'.")


def normalize_key_text(text):
    """Undo what pasting into a one-line password field does to a PEM block."""
    text = text.strip().replace("\\n", "\n").replace("\r\n", "\n")
    match = _PEM_RE.search(text)
    if not match:
        return text
    tag, body = match.group(1), match.group(2)
    if "\n" in body.strip():
        return text
    tokens = body.split()
    headers = []
    while len(tokens) >= 2 and tokens[0].endswith(":"):
        headers.append(tokens[0] + " " + tokens[1])
        tokens = tokens[2:]
    lines = ["-----BEGIN %s-----" % tag] + headers
    if headers:
        lines.append("")
    data = "".join(tokens)
    lines.extend(data[i:i + 64] for i in range(0, len(data), 64))
    lines.append("-----END %s-----" % tag)
    return "\n".join(lines) + "\n"


def _describe(text):
    """``(key_type or None, encrypted)`` read from the key text itself."""
    match = _PEM_RE.search(text)
    if not match:
        return None, False
    tag, body = match.group(1), match.group(2)
    if tag == "OPENSSH PRIVATE KEY":
        try:
            blob = base64.b64decode("".join(body.split()))
            if not blob.startswith(_OPENSSH_MAGIC):
                return None, False
            offset = len(_OPENSSH_MAGIC)
            cipher, offset = _read_string(blob, offset)
            _, offset = _read_string(blob, offset)  # kdf name
            _, offset = _read_string(blob, offset)  # kdf options
            offset += 4                              # number of keys
            public, _ = _read_string(blob, offset)
            return blob_key_type(public), cipher != b"none"
        except (binascii.Error, ValueError, struct.error, UnicodeError):
            return None, False
    encrypted = "ENCRYPTED" in tag or "Proc-Type: 4,ENCRYPTED" in body
    return _PEM_TAG_TYPES.get(tag), encrypted


def load_private_key(text, passphrase, field):
    """A paramiko private key from key text; errors name ``field``, never the key."""
    text = normalize_key_text(text)
    if "PRIVATE KEY-----" not in text:
        raise ConfigError(field, "this is not a private key: expected a block starting "
                                 "with '-----BEGIN ... PRIVATE KEY-----'.")
    key_type, encrypted = _describe(text)
    if "BEGIN PRIVATE KEY" in text or "BEGIN ENCRYPTED PRIVATE KEY" in text:
        text, key_type, encrypted = _pkcs8_to_openssh(text, passphrase, field), None, False
    if key_type == "ssh-dss" or (key_type and not hasattr(
            paramiko, _KEY_CLASSES.get(key_type, "-"))):
        raise ConfigError(field, "%s keys are not supported by this paramiko version; "
                                 "use an ed25519, ECDSA or RSA key." % key_type)
    if encrypted and not passphrase:
        raise ConfigError(field, "the private key is encrypted: fill in the "
                                 "'Private key passphrase' field.")
    if key_type:
        candidates = [getattr(paramiko, _KEY_CLASSES[key_type])]
    else:
        names = ("Ed25519Key", "ECDSAKey", "RSAKey")
        candidates = [getattr(paramiko, n) for n in names if hasattr(paramiko, n)]
    for key_class in candidates:
        try:
            # Positional passphrase: its keyword changed name across paramiko majors.
            return key_class.from_private_key(io.StringIO(text), passphrase or None)
        except paramiko.PasswordRequiredException:
            raise ConfigError(field, "the private key is encrypted: fill in the "
                                     "'Private key passphrase' field.") from None
        except (paramiko.SSHException, ValueError, TypeError, IndexError,
                struct.error, binascii.Error):
            continue
    if encrypted:
        raise ConfigError(field, "the private key could not be decrypted: check the "
                                 "'Private key passphrase' field.")
    raise ConfigError(field, "the private key could not be read. Supported: OpenSSH "
                             "and PEM ed25519, ECDSA and RSA keys (convert others with "
                             "'ssh-keygen -p -m PEM -f KEYFILE').")


def _pkcs8_to_openssh(text, passphrase, field):
    """PKCS#8 keys (``BEGIN PRIVATE KEY``), which paramiko cannot read, converted
    to unencrypted OpenSSH text in memory with ``cryptography`` (a paramiko
    dependency)."""
    from cryptography.hazmat.primitives import serialization
    if "ENCRYPTED" in text and not passphrase:
        raise ConfigError(field, "the private key is encrypted: fill in the "
                                 "'Private key passphrase' field.")
    secret = passphrase.encode("utf-8") if passphrase and "ENCRYPTED" in text else None
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), secret)
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption()).decode("ascii")
    except (ValueError, TypeError, UnicodeError) as exc:
        what = "decrypted: check the 'Private key passphrase' field" if secret else "read"
        raise ConfigError(field, "the PKCS#8 private key could not be %s." % what) from exc


def host_key_algorithms(key_type):
    """The names under which a host key of ``key_type`` may be negotiated."""
    return HOST_KEY_ALGORITHMS.get(key_type, (key_type,))
