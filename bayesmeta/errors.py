"""The package's two exception types.

`InputError` (a `ValueError`) is bad user input; the CLI prints its one-line message and exits
with code 2. `ConvergenceError` (a `RuntimeError`) is an iterative estimator that failed; the
CLI exits with code 1.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input, located by file, row and column where known.

    The message reads ``"<file>, row <row>, column '<column>': <message>"``, with only the
    known location parts (all optional, default None). ``row`` is the 1-based data row (the
    header is not counted), so row 1 is the first line after the header of a CSV file.

    Args:
        message: what is wrong, in one line.
        file: the file the input came from.
        row: 1-based data row.
        column: column name.
        line: the row's line in the file, when blank lines make it differ from row + 1.

    Examples:
        >>> from bayesmeta.errors import InputError
        >>> err = InputError("must be > 0 (got -1)", file="studies.csv", row=3, column="vi")
        >>> print(err)
        studies.csv, row 3, column 'vi': must be > 0 (got -1)
        >>> print(InputError("must be > 0 (got -1)", row=3).located(file="b.csv"))
        b.csv, row 3: must be > 0 (got -1)
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.line = line
        super().__init__(self.oneline())

    def oneline(self) -> str:
        """The message prefixed by the known location parts (what ``str(err)`` gives)."""
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line else ""))
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def located(
        self, *, file: str | None = None, row: int | None = None, column: str | None = None
    ) -> InputError:
        """A copy with missing location parts filled in (parts already set are kept)."""
        return InputError(
            self.message,
            file=self.file or file,
            row=self.row if self.row is not None else row,
            column=self.column or column,
            line=self.line,
        )


class NotEstimable(InputError):
    """The data hold no information on the pooled effect (RevMan's "Not estimable"): an MH
    or Peto ratio with no events in one group across the studies, say. A reader of a whole
    review reports such an analysis and goes on.

    Examples:
        >>> from bayesmeta.errors import InputError, NotEstimable
        >>> isinstance(NotEstimable("MH risk ratio undefined"), InputError)
        True
    """


class ConvergenceError(RuntimeError):
    """An iterative estimator (e.g. REML) did not converge; the message says why.

    Examples:
        >>> from bayesmeta.classical import estimate_tau2
        >>> from bayesmeta.errors import ConvergenceError
        >>> try:
        ...     estimate_tau2([0.1, 0.5, 0.9], [0.01, 0.02, 0.05], "REML", control={"maxiter": 1})
        ... except ConvergenceError as exc:
        ...     print(str(exc)[:46])
        REML Fisher scoring did not converge in 1 iter
    """
