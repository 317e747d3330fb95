"""`python -m steerwise` runs the CLI."""

from steerwise.cli.main import main

main()
