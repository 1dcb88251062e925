"""`python -m orchestration.cli`: the `nordledger` command without its console script."""

from orchestration.cli import main

main(prog_name="nordledger")
