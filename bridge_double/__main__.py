"""``python -m bridge_double``: see :mod:`bridge_double.cli`."""

from .cli import main

raise SystemExit(main())
