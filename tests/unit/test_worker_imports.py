"""What a web worker holds from the start: libraries of rarely taken routes are imported when first used."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str) -> set[str]:
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_app_loads_no_calendar_or_qr_library():
    loaded = loaded_after("import wsgi")
    assert "icalendar" not in loaded  # the calendar feed imports it (webapp/calendar_feed/ics.py)
    assert "segno" not in loaded  # the second factor's set-up page does (webapp/accounts/totp_codes.py)


def test_they_load_when_used():
    loaded = loaded_after("from webapp.accounts import totp_codes\nfrom webapp.calendar_feed import ics\n"
                          "assert totp_codes.qr_svg('otpauth://totp/x?secret=ABC').startswith('<svg')\n"
                          "assert ics.icalendar().Calendar")
    assert {"icalendar", "segno"} <= loaded
