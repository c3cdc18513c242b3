import sys

from aisnas.cli import main

sys.exit(main())
