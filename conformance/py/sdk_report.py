"""What the SDK scenario scripts share: one JSON line per step, and the common arguments."""
import argparse
import json

WAIT = 60


def emit(step, **fields):
    print(json.dumps(dict(step=step, **fields), default=str), flush=True)


def arguments(*extra):
    """--cloud, --image and --flavor, plus `extra` required options."""
    ap = argparse.ArgumentParser()
    for name in ('--cloud', '--image', '--flavor', *extra):
        ap.add_argument(name, required=True)
    return ap.parse_args()
