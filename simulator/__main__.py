"""Entry point for `python -m simulator`."""

from simulator.server import main

main()
