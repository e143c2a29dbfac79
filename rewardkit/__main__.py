"""``python -m rewardkit``: the command-line interface."""

from rewardkit.cli.main import main

main()
