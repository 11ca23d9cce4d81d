"""`python -m emergetui.cli`: the same entry point as the console script."""

from emergetui.cli import main

raise SystemExit(main())
