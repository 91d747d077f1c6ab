"""A second process that draws report figures, so two cores share the work.

`FigureWorker.start()` launches ``python -m bayesmeta.review.figure_worker`` at once, so its
imports (matplotlib, the plotting modules) overlap the re-analysis. `FigureWorker.draw(jobs)`
sends it pickled `bayesmeta.review.figures.Job`s on stdin and waits. A plain subprocess, not
``multiprocessing``: the worker never imports the caller's ``__main__`` (a script without a
``__name__ == "__main__"`` guard is safe), and it ignores Ctrl-C (the caller stops it). If the
worker fails for any reason, the caller draws those figures itself: the files are the same.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import Any


class FigureWorker:
    """The figure-drawing subprocess (module docstring).

    Examples:
        >>> from bayesmeta.review.figure_worker import FigureWorker
        >>> w = FigureWorker.start()
        >>> w.draw([])  # nothing to draw: the worker just exits
        True
    """

    def __init__(self, proc: subprocess.Popen[bytes] | None) -> None:
        self.proc = proc

    @classmethod
    def start(cls) -> FigureWorker:
        """Launch the worker (returns a worker that draws nothing if it cannot start)."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bayesmeta.review.figure_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError:
            return cls(None)
        return cls(proc)

    def draw(self, jobs: list[Any]) -> bool:
        """Have the worker draw ``jobs``; True if it drew them all."""
        if self.proc is None:
            return False
        try:
            out, _ = self.proc.communicate(pickle.dumps(jobs), timeout=600)
        except (OSError, subprocess.TimeoutExpired, pickle.PicklingError):
            self.stop()
            return False
        return self.proc.returncode == 0 and out.strip() == b"done"

    def stop(self) -> None:
        """End the worker if it still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def main() -> int:
    """Worker side: read pickled jobs from stdin, draw them, print ``done``."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from bayesmeta.review import figures  # the plotting modules, imported while we wait

    figures.pyplot()
    jobs = pickle.loads(sys.stdin.buffer.read())
    for job in jobs:
        figures.draw_job(job)
    sys.stdout.write("done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
