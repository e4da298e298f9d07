"""``python -m simple_dqn``: the command train.sh, test.sh and the other scripts run."""

import sys

from simple_dqn.main import main

sys.exit(main())
