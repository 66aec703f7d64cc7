#!/usr/bin/python3
"""Networking through openstacksdk (Debian's python3-openstacksdk): network, subnet, router with a
gateway and an interface, security group and rule, port, a server on the port, a floating IP, an
interface attached and detached, then teardown in reverse order.

Usage: /usr/bin/python3 sdk_networking.py --cloud NAME --image NAME --flavor NAME

Prints one JSON object per step with what the SDK reported; the node test
(test/conformance/networking-sdk.test.ts) asserts them. On an exception it prints
{"step": ..., "error": <exception class>, "message": ...} and exits 1.
"""
import argparse
import json
import sys
import time

import openstack

WAIT = 60


def emit(step, **fields):
    print(json.dumps(dict(step=step, **fields), default=str), flush=True)


def until(check, wait=30):
    deadline = time.time() + wait
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(0.25)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cloud', required=True)
    ap.add_argument('--image', required=True)
    ap.add_argument('--flavor', required=True)
    args = ap.parse_args()
    conn = openstack.connect(cloud=args.cloud)
    net, compute = conn.network, conn.compute
    step = 'connect'
    try:
        step = 'network'
        n = net.create_network(name='sdk-net')
        emit(step, id=n.id, name=n.name, status=n.status)
        step = 'subnet'
        s = net.create_subnet(name='sdk-subnet', network_id=n.id, ip_version=4, cidr='192.168.110.0/24')
        emit(step, id=s.id, cidr=s.cidr, gateway_ip=s.gateway_ip, pools=s.allocation_pools)
        step = 'router'
        public = net.find_network('public', ignore_missing=False)
        r = net.create_router(name='sdk-router', external_gateway_info={'network_id': public.id})
        emit(step, id=r.id, gateway=r.external_gateway_info['network_id'], public=public.id)
        step = 'router interface'
        iface = net.add_interface_to_router(r, subnet_id=s.id)
        emit(step, subnet_id=iface['subnet_id'], port_id=iface['port_id'])
        step = 'security group'
        g = net.create_security_group(name='sdk-sg', description='web')
        rule = net.create_security_group_rule(security_group_id=g.id, direction='ingress', protocol='tcp', port_range_min=80, port_range_max=80, remote_ip_prefix='0.0.0.0/0')
        emit(step, id=g.id, rules=len(list(net.security_group_rules(security_group_id=g.id))), rule_port=rule.port_range_min)
        step = 'port'
        p = net.create_port(network_id=n.id, name='sdk-port', security_group_ids=[g.id])
        emit(step, id=p.id, status=p.status, ip=p.fixed_ips[0]['ip_address'])
        step = 'server'
        image = conn.image.find_image(args.image, ignore_missing=False)
        flavor = compute.find_flavor(args.flavor, ignore_missing=False)
        srv = compute.create_server(name='sdk-vm', image_id=image.id, flavor_id=flavor.id, networks=[{'port': p.id}])
        srv = compute.wait_for_server(srv, status='ACTIVE', wait=WAIT, interval=0.2)
        bound = until(lambda: net.get_port(p.id).status == 'ACTIVE')
        port = net.get_port(p.id)
        emit(step, status=srv.status, port_status=port.status, device_id=port.device_id, server_id=srv.id, bound=bool(bound))
        step = 'floating ip'
        ip = net.create_ip(floating_network_id=public.id)
        net.update_ip(ip, port_id=p.id)
        ip = net.get_ip(ip.id)
        shown = until(lambda: any(a['addr'] == ip.floating_ip_address for a in compute.get_server(srv.id).addresses.get('sdk-net', [])))
        addrs = compute.get_server(srv.id).addresses.get('sdk-net', [])
        emit(step, address=ip.floating_ip_address, status=ip.status, router_id=ip.router_id, router=r.id, shown=bool(shown),
             types=sorted(a.get('OS-EXT-IPS:type') for a in addrs))
        step = 'interface attach'
        private = net.find_network('private', ignore_missing=False)
        att = compute.create_server_interface(srv, net_id=private.id)
        listed = [i.port_id for i in compute.server_interfaces(srv)]
        emit(step, port_id=att.port_id, net_id=att.net_id, listed=len(listed), private=private.id)
        step = 'interface detach'
        compute.delete_server_interface(att.port_id, server=srv)
        gone = until(lambda: net.find_port(att.port_id) is None)
        emit(step, listed=len(list(compute.server_interfaces(srv))), port_gone=gone)
        step = 'teardown'
        net.update_ip(ip, port_id=None)
        net.delete_ip(ip)
        compute.delete_server(srv)
        compute.wait_for_delete(srv, wait=WAIT, interval=0.2)
        released = until(lambda: net.get_port(p.id).device_id == '')
        net.delete_port(p)
        net.delete_security_group(g)
        net.remove_interface_from_router(r, subnet_id=s.id)
        net.update_router(r, external_gateway_info={})
        net.delete_router(r)
        net.delete_subnet(s)
        net.delete_network(n)
        emit(step, port_released=released, left=sorted(x.name for x in net.networks()))
    except Exception as e:  # report, do not judge
        emit(step, error=type(e).__name__, message=str(e))
        sys.exit(1)


if __name__ == '__main__':
    main()
