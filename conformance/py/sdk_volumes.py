#!/usr/bin/python3
"""Block storage through openstacksdk (Debian's python3-openstacksdk): a volume from an image, a
server booted from it, a second volume attached, snapshotted, extended, detached, then the server
and the volumes deleted.

Usage: /usr/bin/python3 sdk_volumes.py --cloud NAME --image NAME --flavor NAME

Prints one JSON object per step on stdout: {"step": ..., "status": <what the SDK reports>, ...};
test/conformance/volumes-sdk.test.ts asserts them. On an exception it prints {"step": ...,
"error": <exception class>, "message": ...} and exits 1. The script only drives the SDK and
reports what it sees.
"""
import sys

import openstack

from sdk_report import WAIT, arguments, emit


def main():
    args = arguments()

    conn = openstack.connect(cloud=args.cloud)
    bs = conn.block_storage
    compute = conn.compute
    step = 'connect'
    try:
        image = conn.image.find_image(args.image, ignore_missing=False)
        flavor = compute.find_flavor(args.flavor, ignore_missing=False)

        step = 'create_boot_volume'
        boot = bs.create_volume(name='sdk-boot', size=1, image_id=image.id)
        emit(step, status=boot.status)
        step = 'boot_volume_available'
        boot = bs.wait_for_status(boot, 'available', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=boot.status, bootable=boot.is_bootable, id=boot.id)

        step = 'boot_from_volume'
        server = compute.create_server(
            name='sdk-bfv', flavor_id=flavor.id, networks='none',
            block_device_mapping=[{'uuid': boot.id, 'source_type': 'volume', 'destination_type': 'volume',
                                   'boot_index': 0, 'delete_on_termination': False}])
        server = compute.wait_for_server(server, status='ACTIVE', interval=0.2, wait=WAIT)
        emit(step, status=server.status, volumes=[v['id'] for v in server.attached_volumes])
        step = 'boot_volume_in_use'
        boot = bs.wait_for_status(bs.get_volume(boot.id), 'in-use', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=boot.status, server_id=boot.attachments[0]['server_id'])

        step = 'create_data_volume'
        data = bs.wait_for_status(bs.create_volume(name='sdk-data', size=1), 'available', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=data.status)
        step = 'attach'
        att = compute.create_volume_attachment(server, volume_id=data.id)
        data = bs.wait_for_status(bs.get_volume(data.id), 'in-use', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=data.status, device=att.device, listed=[a.volume_id for a in compute.volume_attachments(server)])

        step = 'snapshot'
        snap = bs.create_snapshot(volume_id=data.id, name='sdk-snap', force=True)
        snap = bs.wait_for_status(snap, 'available', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=snap.status, volume_id=snap.volume_id)

        step = 'extend'
        # In use: Cinder extends it from 3.42; the SDK sends what the cloud's newest microversion allows.
        bs.extend_volume(data, 2)
        data = bs.wait_for_status(bs.get_volume(data.id), 'in-use', failures=['error', 'error_extending'], interval=0.2, wait=WAIT)
        emit(step, status=data.status, size=data.size)

        step = 'detach'
        compute.delete_volume_attachment(data.id, server)
        data = bs.wait_for_status(bs.get_volume(data.id), 'available', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=data.status)

        step = 'delete_server'
        compute.delete_server(server)
        compute.wait_for_delete(server, interval=0.2, wait=WAIT)
        boot = bs.wait_for_status(bs.get_volume(boot.id), 'available', failures=['error'], interval=0.2, wait=WAIT)
        emit(step, status=boot.status)

        step = 'delete_volumes'
        bs.delete_snapshot(snap)
        bs.wait_for_delete(snap, interval=0.2, wait=WAIT)
        for v in (data, boot):
            bs.delete_volume(v)
            bs.wait_for_delete(v, interval=0.2, wait=WAIT)
        emit(step, remaining=[v.id for v in bs.volumes()])
    except Exception as e:  # report, do not judge
        emit(step, error=type(e).__name__, message=str(e))
        sys.exit(1)


if __name__ == '__main__':
    main()
