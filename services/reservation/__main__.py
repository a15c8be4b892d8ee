"""Start the reservation service, or purge its expired data.

python -m services.reservation                           # serve
python -m services.reservation purge [--days N] [--dry-run]   # see common/retention.py (exit codes)
"""

import sys

from common.service import serve_or_purge
from services.reservation.retention import sweeps
from services.reservation.server import start

if __name__ == "__main__":
    sys.exit(serve_or_purge("reservation", "RESERVATION_PORT", 50052, sweeps, lambda: start, sys.argv[1:]))
