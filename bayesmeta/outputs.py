"""Output paths: checked before any work starts, never an input, written atomically.

`check_outputs` refuses, in one `InputError` line naming the option, an output file that is
a folder, lies in a folder that cannot be made or written, or *is* one of the inputs (by path
identity: links and other spellings of the same file count). `check_output_dir` does the same
for an output folder, and refuses one that holds an input. `atomic_path` yields a temporary
file beside the target and renames it into place only when the block succeeds, so an
interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from bayesmeta.errors import InputError


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _existing_inputs(inputs: Iterable[str | Path | None]) -> list[Path]:
    return [Path(p) for p in inputs if p is not None and Path(p).is_file()]


def _writable_folder(folder: Path, option: str, shown: str) -> None:
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"option {option}: {probe} is a file, not a folder", file=shown)
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"option {option}: folder {probe} is not writable", file=shown)


def check_outputs(
    outputs: Mapping[str, str | Path | None], *, inputs: Iterable[str | Path | None] = ()
) -> None:
    """Refuse bad output files (see module docstring); None entries are skipped.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.outputs import check_outputs
        >>> _ = Path("data.csv").write_text("study,yi,vi\\n")
        >>> check_outputs({"--csv": "./data.csv"}, inputs=["data.csv"])
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: ./data.csv: option --csv: this is an input file; ...
    """
    ins = _existing_inputs(inputs)
    for option, value in outputs.items():
        if value is None:
            continue
        path = Path(value)
        shown = str(value)
        if path.is_dir():
            raise InputError(f"option {option}: is a folder, not a file", file=shown)
        if any(_same(path, p) for p in ins):
            raise InputError(
                f"option {option}: this is an input file; it is never overwritten", file=shown
            )
        _writable_folder(path.parent if str(path.parent) else Path("."), option, shown)
        if path.exists() and not os.access(path, os.W_OK):
            raise InputError(f"option {option}: file is not writable", file=shown)


def check_output_dir(
    folder: str | Path | None,
    *,
    option: str,
    inputs: Iterable[str | Path | None] = (),
    writes: Iterable[str] | None = None,
) -> None:
    """Refuse an output folder that is a file, cannot be written, or holds an input that
    the command could overwrite: any input inside it, or with ``writes`` (shell patterns of
    the paths the command writes, relative to the folder) only an input matching one.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.outputs import check_output_dir
        >>> _ = Path("f.txt").write_text("x")
        >>> check_output_dir("f.txt", option="--out")
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: f.txt: option --out: f.txt is a file, not a folder
    """
    if folder is None:
        return
    path = Path(folder)
    shown = str(folder)
    _writable_folder(path, option, shown)
    if path.exists():
        root = path.resolve()
        patterns = None if writes is None else list(writes)
        for p in _existing_inputs(inputs):
            full = p.resolve()
            if root not in full.parents:
                continue
            rel = full.relative_to(root).as_posix()
            if patterns is None or any(fnmatch.fnmatch(rel, pat) for pat in patterns):
                raise InputError(
                    f"option {option}: the folder holds the input {p}, which is never "
                    "overwritten; choose another folder",
                    file=shown,
                )


@contextlib.contextmanager
def atomic_path(
    target: str | Path, *, inputs: Iterable[str | Path | None] = (), option: str = "output"
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it to ``target``.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.outputs import atomic_path
        >>> with atomic_path("out/table.csv") as tmp:
        ...     _ = tmp.write_text("a,b\\n")
        >>> Path("out/table.csv").read_text(), sorted(p.name for p in Path("out").iterdir())
        ('a,b\\n', ['table.csv'])
    """
    check_outputs({option: target}, inputs=inputs)
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
