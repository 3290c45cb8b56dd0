"""Include/exclude glob patterns on relative POSIX paths, shared by the recipes'
planner and the scenario trigger: which files are considered at all.

A pattern without '/' matches the file name, one with '/' the whole path relative to
the remote path ('2024/*.csv'); '**/' may match no directory ('dir/**' also matches
files directly in 'dir'). Matching is case-sensitive, as SFTP names are.
"""
import fnmatch
import posixpath


def matches(path, pattern):
    """A pattern without '/' matches the file name; with '/', the whole path."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(posixpath.basename(path), pattern)
    pattern = pattern.lstrip("/")
    if fnmatch.fnmatchcase(path, pattern):
        return True
    # 'dir/**' also matches files directly in dir; '**/' may match nothing.
    return "**/" in pattern and fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


def selected(path, include, exclude):
    """Whether a file is considered: it matches an include pattern (or there is
    none) and no exclude pattern."""
    if include and not any(matches(path, p) for p in include):
        return False
    return not any(matches(path, p) for p in exclude)
