"""Start the availability service, load a clinic file into it, or manage a tenant's credentials.

python -m services.availability                        # serve
python -m services.availability load-clinic FILE       # create/update a clinic through the gRPC API
python -m services.availability tenants COMMAND ...    # rotate-secret, issue-key, list-keys, revoke-key
python -m services.availability feeds COMMAND ...      # issue, list, revoke calendar feed tokens
"""

from __future__ import annotations

import os
import sys

from common.config import load_or_exit
from common.sealing import SecretBox
from common.service import main
from services.availability.feeds_cli import main as feeds_main
from services.availability.load_clinic import main as load_clinic_main
from services.availability.server import start
from services.availability.tenants_cli import main as tenants_main

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load-clinic":
        sys.exit(load_clinic_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "tenants":
        sys.exit(tenants_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "feeds":
        sys.exit(feeds_main(sys.argv[2:]))
    if len(sys.argv) > 1:
        usage = "usage: python -m services.availability [load-clinic FILE | tenants COMMAND ... | feeds COMMAND ...]"
        help_asked = sys.argv[1:] in (["-h"], ["--help"])  # answers without starting the server
        print(usage, file=sys.stdout if help_asked else sys.stderr)
        sys.exit(0 if help_asked else 2)
    load_or_exit("availability", lambda: SecretBox.from_env(os.environ))  # seals tenants' secrets
    main("availability", "AVAILABILITY_PORT", 50051, start)
