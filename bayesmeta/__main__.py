"""``python -m bayesmeta``: the command line (`bayesmeta.cli.main`)."""

from bayesmeta.cli import main

raise SystemExit(main())
