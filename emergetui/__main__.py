"""`python -m emergetui` is the `emergetui` command."""

from emergetui.cli import main

raise SystemExit(main())
