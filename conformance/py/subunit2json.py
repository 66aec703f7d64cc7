#!/usr/bin/python3
"""Read a subunit v2 stream on stdin; print one JSON object per test on stdout.

Each line: {"id": ..., "status": "success|fail|skip|xfail|uxsuccess|...", "reason": short text}.
The reason is the skip reason, or the last line of a failure's traceback.
Uses python3-subunit and python3-testtools (Debian dependencies of python3-stestr).
"""
import json
import sys

import subunit
import testtools


def text_of(details, key):
    content = details.get(key)
    if content is None:
        return ''
    try:
        return content.as_text()
    except Exception:  # binary attachment
        return ''


def on_test(test):
    status = test['status']
    if status in ('exists', None):
        return
    details = test.get('details') or {}
    reason = ''
    if status == 'skip':
        reason = text_of(details, 'reason').strip()
    elif status in ('fail', 'uxsuccess'):
        tb = text_of(details, 'traceback').strip()
        lines = [line for line in tb.splitlines() if line.strip()]
        reason = lines[-1] if lines else ''
    print(json.dumps({'id': test['id'], 'status': status, 'reason': reason[:500]}), flush=True)


def main():
    stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name='stdout')
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        stream.run(result)
    finally:
        result.stopTestRun()


if __name__ == '__main__':
    main()
