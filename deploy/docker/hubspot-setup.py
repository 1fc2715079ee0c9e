"""Creates the demo's custom contact properties in the HubSpot simulator.

The one-shot `hubspot-setup` service of docker-compose.yml runs this with the definitions of
deploy/local/hubspot-properties.json (mounted read-only), as deploy/local/up.sh does for the
local stack. A property that exists already (409) counts as done, so rerunning is harmless.
Python because the file is a JSON array posted one element at a time, and the image needs
nothing but the standard library.

Usage: hubspot-setup.py PROPERTIES_JSON   (HUBSPOT_URL and HUBSPOT_TOKEN from the environment)
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request


def post(url, token, body):
    """POSTs `body` as JSON; returns (status, response text). HTTP errors are answers too."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def post_when_up(url, token, body, attempts=30):
    """The simulator is healthy before this starts (depends_on), but a restart may race us."""
    for attempt in range(attempts):
        try:
            return post(url, token, body)
        except urllib.error.URLError as e:
            if attempt + 1 == attempts:
                sys.exit(f"hubspot-setup: {url} does not answer: {e.reason}")
            time.sleep(1)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    base = os.environ.get("HUBSPOT_URL", "http://hubspot-sim:8089").rstrip("/")
    token = os.environ.get("HUBSPOT_TOKEN", "local-dev-token")
    with open(sys.argv[1], encoding="utf-8") as f:
        properties = json.load(f)
    if not properties:
        sys.exit(f"hubspot-setup: no property definitions in {sys.argv[1]}")

    url = f"{base}/crm/v3/properties/contacts"
    created = existing = 0
    for prop in properties:
        status, text = post_when_up(url, token, prop)
        if status in (200, 201):
            created += 1
        elif status == 409:
            existing += 1
        else:
            sys.exit(f"hubspot-setup: creating property {prop.get('name')}: HTTP {status}: {text[:500]}")
    print(f"hubspot-setup: HubSpot properties: {created} created, {existing} already there")


if __name__ == "__main__":
    main()
