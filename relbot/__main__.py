"""``python -m relbot``."""

from relbot.cli import main

main()
