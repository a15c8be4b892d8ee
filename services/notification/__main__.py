"""Start the notification service, or purge its expired data.

python -m services.notification                           # serve
python -m services.notification purge [--days N] [--dry-run]   # see common/retention.py (exit codes)
"""

import sys

from common.config import load_or_exit
from common.service import Starter, serve_or_purge
from services.notification.config import TwilioConfig
from services.notification.retention import sweeps
from services.notification.server import starter


def twilio_starter() -> Starter:
    return starter(load_or_exit("notification", TwilioConfig.from_env))


if __name__ == "__main__":
    sys.exit(serve_or_purge("notification", "NOTIFICATION_PORT", 50053, sweeps, twilio_starter, sys.argv[1:]))
