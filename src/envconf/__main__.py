"""Allow ``python -m envconf``."""

from envconf.cli import exit_process, main

exit_process(main())
