"""Progress on stderr for long work: a counter with elapsed time and an estimate of the time
left, shown only on a terminal (never in a pipe, a log or beside ``--json`` on stdout).

``Counter(total, label, enabled, unit=...)``; ``step(note)`` after each unit of work prints
one carriage-return line ``label: done/total unit note, elapsed 12 s, about 30 s left``; the last
step ends the line. `on_terminal(quiet)` is the usual ``enabled``.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def on_terminal(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """True when progress should show: not ``quiet`` and stderr is a terminal.

    Examples:
        >>> import io
        >>> from bayesmeta.progress import on_terminal
        >>> on_terminal(stream=io.StringIO()), on_terminal(quiet=True)
        (False, False)
    """
    s = stream or sys.stderr
    return not quiet and bool(getattr(s, "isatty", lambda: False)())


class Counter:
    """``done/total`` with elapsed time and the time left at the mean pace so far.

    Examples:
        >>> import io
        >>> from bayesmeta.progress import Counter
        >>> out = io.StringIO()
        >>> c = Counter(2, "refit", True, stream=out, clock=iter([0.0, 10.0, 20.0]).__next__)
        >>> c.step("halfnormal(1)"); c.step("halfnormal(2)")
        >>> [line.strip() for line in out.getvalue().split("\\r")][1:]
        ['refit: 1/2 halfnormal(1), elapsed 10 s, about 10 s left',
         'refit: 2/2 halfnormal(2), elapsed 20 s']
    """

    def __init__(
        self,
        total: int,
        label: str,
        enabled: bool,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        clock: object = None,
    ) -> None:
        self.total, self.label, self.enabled, self.done = int(total), label, enabled, 0
        self.unit = unit
        self.stream = stream or sys.stderr
        self.clock = clock if callable(clock) else time.perf_counter
        self.t0 = float(self.clock())

    def step(self, note: str = "") -> None:
        """One more unit done; prints the line when enabled."""
        self.done += 1
        if not self.enabled:
            return
        dt = float(self.clock()) - self.t0
        text = f"{self.label}: {self.done}/{self.total}"
        text += "".join(f" {part}" for part in (self.unit, note) if part)
        text += f", elapsed {dt:.0f} s"
        if self.done < self.total:
            text += f", about {dt / self.done * (self.total - self.done):.0f} s left"
        end = "\n" if self.done >= self.total else ""
        print(f"\r{text}", end=end, file=self.stream, flush=True)
