"""Start the notification service, or purge its expired data.

python -m services.notification                           # serve
python -m services.notification purge [--days N] [--dry-run]   # see common/retention.py (exit codes)
"""

import sys

from common.config import load_or_exit
from common.retention import command
from common.service import main
from services.notification.config import TwilioConfig
from services.notification.retention import sweeps
from services.notification.server import starter

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "purge":
        sys.exit(command("notification", sys.argv[2:], sweeps))
    if len(sys.argv) > 1:
        print("usage: python -m services.notification [purge [--days N] [--dry-run]]", file=sys.stderr)
        sys.exit(2)
    twilio = load_or_exit("notification", TwilioConfig.from_env)
    main("notification", "NOTIFICATION_PORT", 50053, starter(twilio))
