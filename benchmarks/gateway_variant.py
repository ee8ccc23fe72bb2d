"""ASGI entry point for a patched gateway, to measure a suggested optimisation under real load.

    BENCH_GATEWAY_PATCHES=guard_in_auth,cached_principal \
        .venv/bin/python -m granian --interface asgi --no-access-log benchmarks.gateway_variant:app

auth_get.py --gateway-variant KEYS serves it; the keys are those of benchmarks.variants.PATCHES.
"""

import os
import sys

from benchmarks.variants import PATCHES

for _key in filter(None, os.environ.get("BENCH_GATEWAY_PATCHES", "").split(",")):
    _patches = PATCHES[_key]()
    if not _patches:
        print(f"gateway_variant: {_key} is already in the app, nothing to patch", file=sys.stderr)
    for _patch in _patches:
        _patch.start()  # for the life of this worker process

from gateway.app import create_app  # noqa: E402

app = create_app()
