"""`python -m dagster_project.serving serve ...`, the same as `rcl serve ...`."""

import sys

from dagster_project.serving.server import main

sys.exit(main())
