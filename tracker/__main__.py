"""`python -m tracker`: the same as the `lifesci-tracker` command."""

from tracker.cli import main

main()
