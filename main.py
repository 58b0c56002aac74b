"""PeerTrail's entry point: `python main.py` opens the desktop app; `python main.py
COMMAND` runs a command-line tool (see `python main.py --help`)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
