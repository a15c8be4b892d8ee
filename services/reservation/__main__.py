"""Start the reservation service, or purge its expired data.

python -m services.reservation                           # serve
python -m services.reservation purge [--days N] [--dry-run]   # see common/retention.py (exit codes)
"""

import sys

from common.retention import command
from common.service import main
from services.reservation.retention import sweeps
from services.reservation.server import start

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "purge":
        sys.exit(command("reservation", sys.argv[2:], sweeps))
    if len(sys.argv) > 1:
        print("usage: python -m services.reservation [purge [--days N] [--dry-run]]", file=sys.stderr)
        sys.exit(2)
    main("reservation", "RESERVATION_PORT", 50052, start)
