"""Reading declarative TOML specs: typed table access with one-line errors naming the file
and the key (shared by `bayesmeta.review.spec` and `bayesmeta.simulate.spec`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bayesmeta.errors import InputError


def join_key(key: str, name: str) -> str:
    """The dotted path of ``name`` inside table ``key`` (``name`` itself at the top level)."""
    return f"{key}.{name}" if key else name


class TomlReader:
    """Validates the tables of one spec file; errors are `InputError`s naming file and key."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> InputError:
        return InputError(f"key '{key}': {message}", file=self.path)

    def table(
        self, obj: Any, key: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> Mapping[str, Any]:
        """``obj`` as a table with all ``required`` keys and no key outside ``optional``."""
        if not isinstance(obj, Mapping):
            raise self.fail(key, f"must be a table, got {type(obj).__name__}")
        allowed = required + optional
        for k in obj:
            if k not in allowed:
                raise self.fail(
                    join_key(key, k), f"unknown key '{k}' (allowed: {', '.join(allowed)})"
                )
        for k in required:
            if k not in obj:
                raise self.fail(join_key(key, k), "missing required key")
        return obj
