"""Start the reservation service: `python -m services.reservation`."""

from common.service import main
from services.reservation.server import start

if __name__ == "__main__":
    main("reservation", "RESERVATION_PORT", 50052, start)
