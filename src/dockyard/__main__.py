"""``python -m dockyard`` runs the ``dockyard`` command."""

from dockyard.cli.main import main

main()
