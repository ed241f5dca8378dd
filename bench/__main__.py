"""``python -m bench``: build scale L, measure every SPEC 6.3 row, write bench.json."""

import sys

from bench.benchmark import main

sys.exit(main())
