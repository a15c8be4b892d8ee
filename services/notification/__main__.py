"""Start the notification service: `python -m services.notification`."""

from common.service import main
from services.notification.server import start

if __name__ == "__main__":
    main("notification", "NOTIFICATION_PORT", 50053, start)
