"""``python -m yanex`` runs the command line."""

from yanex.cli import main

main()
