#!/usr/bin/python3
"""Read a subunit v2 stream on stdin; print one JSON object per test on stdout.

Each line: {"id": ..., "status": "success|fail|skip|xfail|uxsuccess|...", "reason": short text}.
The reason is the skip reason, or the last line of a failure's traceback.
Uses python3-subunit and python3-testtools (Debian dependencies of python3-stestr).
"""
import json
import re
import sys

import subunit
import testtools


# 'tempest.lib.exceptions.NotFound: Object not found', 'AssertionError: ...', 'KeyError'
EXCEPTION_LINE = re.compile(r'^[A-Za-z_][\w.]*(Error|Exception|Failure|Timeout|NotFound|Conflict|BadRequest|Unauthorized|Forbidden|Mismatch|[A-Z]\w*)(: .*)?$')


def text_of(details, key):
    content = details.get(key)
    if content is None:
        return ''
    try:
        return content.as_text()
    except Exception:  # binary attachment
        return ''


def exception_of(traceback):
    """The exception line of a traceback and what follows it, on one line."""
    lines = [line.strip() for line in traceback.splitlines() if line.strip()]
    start = None
    for i, line in enumerate(lines):
        if EXCEPTION_LINE.match(line):
            start = i
    if start is None:
        return lines[-1] if lines else ''
    return ' '.join(lines[start:])


def elide(text, head=240, tail=200):
    """Long mismatches print a whole server body; what matters is usually at both ends."""
    if len(text) <= head + tail + 5:
        return text
    return text[:head] + ' … ' + text[-tail:]


def on_test(test):
    status = test['status']
    if status in ('exists', None):
        return
    details = test.get('details') or {}
    reason = ''
    if status == 'skip':
        reason = text_of(details, 'reason').strip()
    elif status in ('fail', 'uxsuccess'):
        reason = exception_of(text_of(details, 'traceback'))
    print(json.dumps({'id': test['id'], 'status': status, 'reason': elide(reason)}), flush=True)


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
