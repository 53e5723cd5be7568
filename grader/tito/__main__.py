"""`python -m grader.tito` and the `tito` script: say plainly when the environment is missing."""

import sys

try:
    from grader.tito.cli import main
except ModuleNotFoundError as error:
    print(
        f"tito: the course environment is missing {error.name!r}: run `make venv` in your "
        "course repository, then use .venv/bin/tito",
        file=sys.stderr,
    )
    sys.exit(2)

sys.exit(main())
