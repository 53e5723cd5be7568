"""`python -I -m grader.service`: see grader/service/main.py."""

import sys

from grader.service.main import main

sys.exit(main())
