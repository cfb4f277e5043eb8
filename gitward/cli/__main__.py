"""``python -m gitward.cli`` runs the same command as the ``gitward`` script."""

from gitward.cli.main import main

main()
