"""Reading other programs' files: RevMan 5 reviews (``.rm5``) and RevMan's CSV export.

`read_revman` returns the analyses with their study data and RevMan's stored results;
`compare_all` recomputes each one and sets it beside the stored numbers (what
``bayesmeta revman`` prints).
"""

from bayesmeta.io.revman import (
    RevManAnalysis,
    compare_all,
    compare_stored,
    read_revman,
    recompute,
)

__all__ = ["RevManAnalysis", "compare_all", "compare_stored", "read_revman", "recompute"]
