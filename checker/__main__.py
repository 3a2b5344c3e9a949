"""Entry point for ``python -m checker``."""

from checker.launch import main

raise SystemExit(main())
