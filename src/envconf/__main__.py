"""Allow ``python -m envconf``."""

import sys

from envconf.cli import main

sys.exit(main())
