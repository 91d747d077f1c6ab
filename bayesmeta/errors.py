"""Input errors that the CLI turns into one line and exit code 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input, located by file, row and column where known.

    ``row`` is the 1-based data row (the header is not counted), so row 1 is the
    first line after the header of a CSV file.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.oneline())

    def oneline(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def located(
        self, *, file: str | None = None, row: int | None = None, column: str | None = None
    ) -> InputError:
        """A copy with missing location parts filled in."""
        return InputError(
            self.message,
            file=self.file or file,
            row=self.row if self.row is not None else row,
            column=self.column or column,
        )


class ConvergenceError(RuntimeError):
    """An iterative estimator (e.g. REML) did not converge; the message says why."""
