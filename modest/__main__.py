"""``python -m modest``: the same as the ``modest`` console script."""

from modest.cli import main

raise SystemExit(main())
