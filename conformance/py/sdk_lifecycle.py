#!/usr/bin/python3
"""A server's whole lifecycle through openstacksdk (Debian's python3-openstacksdk).

Usage: /usr/bin/python3 sdk_lifecycle.py --cloud NAME --image NAME --flavor NAME --flavor-alt NAME
(the cloud comes from clouds.yaml: OS_CLIENT_CONFIG_FILE).

Prints one JSON object per step on stdout: {"step": ..., "status": <server status the SDK reports>,
...}; the node test (test/conformance/openstacksdk.test.ts) asserts them. On an exception it prints
{"step": ..., "error": <exception class>, "message": ...} and exits 1. The script decides nothing
about what is right: it only drives the SDK and reports what it sees.
"""
import time
import sys
import uuid

import openstack
from openstack import exceptions

from sdk_report import WAIT, arguments, emit

INTERVAL = 0.2


def main():
    args = arguments('--flavor-alt')

    conn = openstack.connect(cloud=args.cloud)
    compute = conn.compute
    step = 'connect'

    def settle(name, server, status):
        # wait_for_server returns at once when the object it is given already shows the status, so
        # start from what the cloud says now (a hard reboot of an ACTIVE server must be seen through),
        # and wait for the task to finish too, as a real cloud may show the status before that.
        server = compute.get_server(server.id)
        server = compute.wait_for_server(server, status=status, failures=['ERROR'], interval=INTERVAL, wait=WAIT)
        deadline = time.time() + WAIT
        while server.task_state is not None and time.time() < deadline:
            time.sleep(INTERVAL)
            server = compute.get_server(server.id)
        emit(name, status=server.status, task_state=server.task_state, vm_state=server.vm_state)
        return server

    def listed(status, server):
        ids = [s.id for s in compute.servers(status=status)]
        emit('list ' + status, status=status, listed=server.id in ids)

    try:
        step = 'lookup'
        image = conn.image.find_image(args.image, ignore_missing=False)
        flavor = compute.find_flavor(args.flavor, ignore_missing=False)
        flavor_alt = compute.find_flavor(args.flavor_alt, ignore_missing=False)
        emit(step, image=image.id, flavor=flavor.id, flavor_alt=flavor_alt.id)
        # The compute API's image proxy (GET /images), as in openstacksdk's own examples; reported
        # on its own so the lifecycle goes on either way.
        try:
            via_compute = compute.find_image(args.image, ignore_missing=False)
            emit('compute find_image', image=via_compute.id)
        except Exception as e:
            emit('compute find_image', failed=type(e).__name__, message=str(e)[:500])

        step = 'create'
        name = 'sdk-' + uuid.uuid4().hex[:8]
        server = compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks='none')
        emit('create requested', status=server.status, id=server.id)
        server = settle(step, server, 'ACTIVE')
        listed('ACTIVE', server)

        # (step, call, the status it settles in, whether to check the listing by that status)
        there_and_back = [
            ('stop', compute.stop_server, 'SHUTOFF', True),
            ('start', compute.start_server, 'ACTIVE', False),
            ('pause', compute.pause_server, 'PAUSED', True),
            ('unpause', compute.unpause_server, 'ACTIVE', False),
            ('suspend', compute.suspend_server, 'SUSPENDED', True),
            ('resume', compute.resume_server, 'ACTIVE', False),
            ('reboot soft', lambda s: compute.reboot_server(s, 'SOFT'), 'ACTIVE', False),
            ('reboot hard', lambda s: compute.reboot_server(s, 'HARD'), 'ACTIVE', False),
        ]
        for step, call, status, check_list in there_and_back:
            call(server)
            server = settle(step, server, status)
            if check_list:
                listed(status, server)

        step = 'rebuild'
        compute.rebuild_server(server, image.id, name=name + '-rebuilt')
        server = settle(step, server, 'ACTIVE')
        emit('rebuilt', status=server.status, name=server.name, image=(server.image or {}).get('id'))

        step = 'resize'
        compute.resize_server(server, flavor_alt)
        server = settle(step, server, 'VERIFY_RESIZE')
        listed('VERIFY_RESIZE', server)
        step = 'resize confirm'
        compute.confirm_server_resize(server)
        server = settle(step, server, 'ACTIVE')
        emit('flavor after confirm', status=server.status, flavor=server.flavor.get('original_name') or server.flavor.get('name'))

        step = 'resize again'
        compute.resize_server(server, flavor)
        server = settle(step, server, 'VERIFY_RESIZE')
        step = 'resize revert'
        compute.revert_server_resize(server)
        server = settle(step, server, 'ACTIVE')
        emit('flavor after revert', status=server.status, flavor=server.flavor.get('original_name') or server.flavor.get('name'))

        for step, call, status, check_list in [
            ('shelve', compute.shelve_server, 'SHELVED_OFFLOADED', True),
            ('unshelve', compute.unshelve_server, 'ACTIVE', False),
            ('rescue', compute.rescue_server, 'RESCUE', True),
            ('unrescue', compute.unrescue_server, 'ACTIVE', False),
        ]:
            call(server)
            server = settle(step, server, status)
            if check_list:
                listed(status, server)

        step = 'lock'
        compute.lock_server(server)
        server = compute.get_server(server)
        emit(step, status=server.status, locked=server.is_locked)
        step = 'action while locked'
        try:
            compute.stop_server(server)
            emit(step, status=compute.get_server(server).status, refused=False)
        except exceptions.ConflictException as e:
            emit(step, status=compute.get_server(server).status, refused=True, http_status=e.status_code)
        step = 'unlock'
        compute.unlock_server(server)
        server = compute.get_server(server)
        emit(step, status=server.status, locked=server.is_locked)

        step = 'metadata set'
        compute.set_server_metadata(server, purpose='conformance', owner='sdk')
        server = compute.get_server(server)
        emit(step, status=server.status, metadata=server.metadata)
        step = 'metadata unset'
        compute.delete_server_metadata(server, ['owner'])
        server = compute.get_server(server)
        emit(step, status=server.status, metadata=server.metadata)

        step = 'delete'
        compute.delete_server(server)
        compute.wait_for_delete(server, interval=INTERVAL, wait=WAIT)
        gone = compute.find_server(server.id, ignore_missing=True) is None
        emit(step, status='DELETED' if gone else 'PRESENT', gone=gone)
    except Exception as e:  # report, the node test decides
        emit(step, error=type(e).__name__, message=str(e)[:1000])
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
