"""Start the availability service: `python -m services.availability`."""

from common.service import main
from services.availability.server import start

if __name__ == "__main__":
    main("availability", "AVAILABILITY_PORT", 50051, start)
