"""Output files that are never half-written and never overwrite a file this project did not write.

Every output goes through a temporary file in the target's folder, named `.tmp-<target>-<random>`, and
`os.replace`; a temporary left behind by a killed run is removed by the next write to the same target.
"""
import json
import math
import os


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_prefix(path):
    return f".tmp-{os.path.basename(path)}-"


def remove_stale_temporaries(path):
    """Delete temporaries of `path` left by an earlier run that was killed mid-write."""
    import glob  # here and tempfile below: only a run that writes pays for their import
    folder = os.path.dirname(os.path.abspath(path))
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(_temp_prefix(path)) + "*")):
        try:
            os.remove(stale)
        except OSError:
            pass


def write_atomic(path, write, mode="w"):
    """Write a file through a temporary file in the same folder, then os.replace it into place."""
    import tempfile
    remove_stale_temporaries(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(path))
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())         # mkstemp makes 0600 files; give the usual permissions
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
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n"
    write_atomic(path, lambda f: f.write(text))
