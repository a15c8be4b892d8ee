"""Start the availability service, or load a clinic file into it.

python -m services.availability                    # serve
python -m services.availability load-clinic FILE   # create/update a clinic through the gRPC API
"""

from __future__ import annotations

import sys

from common.service import main
from services.availability.load_clinic import main as load_clinic_main
from services.availability.server import start

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load-clinic":
        sys.exit(load_clinic_main(sys.argv[2:]))
    if len(sys.argv) > 1:
        print("usage: python -m services.availability [load-clinic FILE]", file=sys.stderr)
        sys.exit(2)
    main("availability", "AVAILABILITY_PORT", 50051, start)
