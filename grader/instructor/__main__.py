"""`python -m grader.instructor`: see grader/instructor/main.py."""

import sys

from grader.instructor.main import main

sys.exit(main())
