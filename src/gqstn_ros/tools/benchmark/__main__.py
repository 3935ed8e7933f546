"""`python -m gqstn_ros.tools.benchmark`: see the package docstring."""

import sys

from gqstn_ros.tools.benchmark.cli import main

sys.exit(main())
