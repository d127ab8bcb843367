"""`python -m courtyard` runs the CLI."""

from courtyard.cli import main

raise SystemExit(main())
