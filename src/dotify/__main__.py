"""``python -m dotify``: the command line."""

from dotify.cli import main

main()
