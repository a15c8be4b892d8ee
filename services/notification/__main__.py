"""Start the notification service: `python -m services.notification`."""

from common.config import load_or_exit
from common.service import main
from services.notification.config import TwilioConfig
from services.notification.server import starter

if __name__ == "__main__":
    twilio = load_or_exit("notification", TwilioConfig.from_env)
    main("notification", "NOTIFICATION_PORT", 50053, starter(twilio))
