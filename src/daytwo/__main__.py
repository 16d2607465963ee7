"""Allow ``python -m daytwo``."""

import sys

from daytwo.cli import main

sys.exit(main())
