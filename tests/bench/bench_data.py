"""Bench data: one big incompressible file, a 3-level tree of small files, and
the checks that a copy holds exactly them."""
import hashlib
import os
import random
from typing import NamedTuple

MIB = 1024 * 1024
SMALL_FILE_SIZE = 4096
#: The small files: FANOUT directories of FANOUT directories of files.
FANOUT = 10
#: Blocks compared at random offsets when a big copy is checked again (the first
#: copy of each case is checked in full).
SAMPLED_BLOCKS = 64


class Manifest(NamedTuple):
    files: dict          # relative path -> (size, sha256 hex)

    @property
    def total_bytes(self):
        return sum(size for size, _ in self.files.values())

    @property
    def dirs(self):
        found = set()
        for path in self.files:
            parent = os.path.dirname(path)
            while parent:
                found.add(parent)
                parent = os.path.dirname(parent)
        return sorted(found)


def make_big_file(path, size):
    """``size`` bytes of incompressible data, each 4 KiB block stamped with its
    offset (a misplaced block changes the checksum)."""
    rng = random.Random(20240501)
    pool = rng.randbytes(17 * MIB)
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for start in range(0, size, MIB):
            length = min(MIB, size - start)
            off = (start // MIB * 4099 * 8) % (16 * MIB)
            buf = bytearray(pool[off:off + length])
            for k in range(0, length - 7, 4096):
                buf[k:k + 8] = (start + k).to_bytes(8, "little")
            handle.write(buf)
            digest.update(buf)
    return Manifest({os.path.basename(path): (size, digest.hexdigest())})


def make_small_files(base, count, size=None):
    """``count`` files of about 4 KiB (or exactly ``size`` bytes) in ``a?/b?/``
    directories (3 levels)."""
    rng = random.Random(42)
    files = {}
    per_leaf = max(1, -(-count // (FANOUT * FANOUT)))
    for n in range(count):
        leaf = n // per_leaf
        rel = "a%d/b%d/f%05d.bin" % (leaf // FANOUT, leaf % FANOUT, n)
        length = size or SMALL_FILE_SIZE + rng.randint(-1024, 1024)
        data = rng.randbytes(length)
        full = os.path.join(base, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data)
        files[rel] = (length, hashlib.sha256(data).hexdigest())
    return Manifest(files)


def chown_tree(top, user):
    for parent, _, files in os.walk(top):
        os.chown(parent, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(parent, name), user.pw_uid, user.pw_gid)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 * MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def same_samples(copy, original, size):
    rng = random.Random(size)
    with open(copy, "rb") as one, open(original, "rb") as two:
        for _ in range(SAMPLED_BLOCKS):
            offset = rng.randrange(0, max(1, size - 4096))
            one.seek(offset)
            two.seek(offset)
            if one.read(4096) != two.read(4096):
                return False
    return True


def verify_tree(directory, manifest, ignore=(), original_dir=None):
    """'' when ``directory`` holds exactly the manifest's files (names in
    ``ignore`` aside), else what is wrong. With ``original_dir``, big files are
    compared by sampled blocks instead of a full checksum."""
    found = {}
    for parent, _, files in os.walk(directory):
        for name in files:
            full = os.path.join(parent, name)
            rel = os.path.relpath(full, directory).replace(os.sep, "/")
            if name not in ignore:
                found[rel] = full
    problems = []
    missing = sorted(set(manifest.files) - set(found))
    extra = sorted(set(found) - set(manifest.files))
    if missing:
        problems.append("%d missing (e.g. %s)" % (len(missing), missing[0]))
    if extra:
        problems.append("%d unexpected (e.g. %s)" % (len(extra), extra[0]))
    for rel in sorted(set(found) & set(manifest.files)):
        size, sha = manifest.files[rel]
        actual = os.path.getsize(found[rel])
        if actual != size:
            problems.append("%s has %d bytes, expected %d" % (rel, actual, size))
        elif original_dir and size > 16 * MIB:
            if not same_samples(found[rel], os.path.join(original_dir, rel), size):
                problems.append("%s has the wrong content (sampled blocks)" % rel)
        elif file_sha256(found[rel]) != sha:
            problems.append("%s has the wrong content (SHA-256 differs)" % rel)
        if len(problems) > 5:
            break
    return "; ".join(problems)
