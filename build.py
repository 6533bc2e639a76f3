#!/usr/bin/env python3
"""Build the site: `python build.py [--source DIR] [--output DIR] [--base-url URL] [--drafts]`."""

import sys

from microsite.cli import main

if __name__ == "__main__":
    sys.exit(main())
