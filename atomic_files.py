"""Output files that are never half-written and never overwrite a file this project did not write.

Every output goes through a temporary file in the target's folder, named `.tmp-<hash>-<pid>-<random>` (a short
hash of the target's name, so the name stays short however long the target's is, and the writer's PID), and
`os.replace`. A temporary left behind by a killed run is removed by the next write to the same target, once
its writer is no longer alive; nothing else in the folder is touched.
"""
import hashlib
import json
import math
import os
import re


def _temp_prefix(path):
    digest = hashlib.sha256(os.fsencode(os.path.basename(path))).hexdigest()[:16]
    return f".tmp-{digest}-"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):          # another user's process (EPERM), or not a PID at all: keep it
        return True
    return True


def remove_stale_temporaries(path):
    """Delete temporaries of `path` left by an earlier writer that was killed mid-write (its PID is gone)."""
    folder = os.path.dirname(os.path.abspath(path))
    ours = re.compile(re.escape(_temp_prefix(path)) + r"([1-9][0-9]{0,9})-[0-9a-f]{16}")
    for name in os.listdir(folder):
        match = ours.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


def write_atomic(path, write, mode="w"):
    """Write a file through a temporary file in the same folder, then os.replace it into place."""
    if os.path.exists(path) and not os.path.isfile(path):
        raise OSError(f"{path} exists and is not a regular file")
    remove_stale_temporaries(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f"{_temp_prefix(path)}{os.getpid()}-{os.urandom(8).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)     # the usual permissions, umask applied
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def json_safe(obj):
    """`obj` with every non-finite float replaced by None, so the JSON written is valid JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path, obj):
    """obj as JSON, streamed into the temporary: the text of a large sweep is never held whole in memory."""
    safe = json_safe(obj)

    def write(f):
        json.dump(safe, f, indent=2, allow_nan=False)
        f.write("\n")
    write_atomic(path, write)
