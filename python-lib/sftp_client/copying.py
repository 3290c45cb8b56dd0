"""Copy primitives every tree uses, below both the remote tree and the folders:
a stream copied chunk by chunk with its byte count checked, and the rule that
keeps a partial copy for the next attempt after a transient failure."""
from sftp_client.errors import TransferError

#: Bytes read and written per call: large enough to amortise per-call overhead,
#: small enough that progress and memory stay smooth.
CHUNK_SIZE = 256 * 1024


def copy_stream(source, dest, expected, path, progress=None):
    """Copy ``source`` into ``dest`` chunk by chunk; check the byte count."""
    count = 0
    while True:
        try:
            chunk = source.read(CHUNK_SIZE)
        except (IOError, OSError) as exc:
            raise TransferError("Cannot read %s: %s" % (path, exc.strerror or exc),
                                path, "read") from exc
        if not chunk:
            break
        dest.write(chunk)
        count += len(chunk)
        if progress is not None:
            progress.add_bytes(len(chunk))
    if count != expected:
        raise TransferError("%s changed while it was copied (listed with %d bytes, %d "
                            "read): it is copied again on the next run." % (
                                path, expected, count), path, "verify")
    return count


def keep_partial(resume, exc, temp):
    """After a failed write: keep ``temp`` for the next attempt when the failure is
    transient. True when kept; the caller removes it otherwise."""
    if resume is None:
        return False
    if getattr(exc, "transient", False):
        resume.temp = temp
        return True
    resume.temp = None
    return False
