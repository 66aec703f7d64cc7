// The metadata service as a guest sees it at http://169.254.169.254 (Nova's openstack/latest and
// a little of the EC2 tree), rendered from the guest's snapshot. Only tagged devices are listed in
// `devices`, as libvirt reports them: bus, a PCI address for NICs and disks alike (virtio), the
// MAC of a NIC, the serial (volume id) and path of a disk.
import type { GuestView } from './guest.ts';

export const METADATA_HOST = '169.254.169.254';

/** A stable PCI slot per device: NICs first, then disks (as libvirt numbers them in the domain). */
function pciAddress(slot: number): string {
  return `0000:00:${(slot + 3).toString(16).padStart(2, '0')}.0`;
}

export function devices(g: GuestView): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let slot = 0;
  for (const n of g.nics) {
    const address = pciAddress(slot++);
    if (n.tag) out.push({ type: 'nic', bus: 'pci', address, mac: n.mac, tags: [n.tag] });
  }
  for (const d of g.disks) {
    const address = pciAddress(slot++);
    if (d.tag) out.push({ type: 'disk', bus: 'pci', address, serial: d.serial ?? '', path: `/dev/${d.name}`, tags: [d.tag] });
  }
  return out;
}

export function metaDataJson(g: GuestView): Record<string, unknown> {
  return {
    uuid: g.uuid,
    meta: g.meta,
    public_keys: Object.fromEntries(g.keys.map((k) => [k.name, k.data])),
    keys: g.keys,
    hostname: `${g.hostname}.novalocal`,
    name: g.name,
    launch_index: g.launch_index,
    availability_zone: g.availability_zone,
    project_id: g.project_id,
    devices: devices(g),
    dedicated_cpus: [],
  };
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET of a path on the metadata service. */
export function metadataGet(g: GuestView, path: string): HttpAnswer {
  const p = path.replace(/\/+$/, '') || '/';
  const ok = (body: string): HttpAnswer => ({ status: 200, body });
  switch (p) {
    case '/':
      return ok(['1.0', '2007-01-19', '2009-04-04', 'latest'].join('\n'));
    case '/openstack':
      return ok(['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', '2020-10-14', 'latest'].join('\n'));
    case '/openstack/latest':
      return ok(['meta_data.json', 'password', 'vendor_data.json', 'network_data.json', ...(g.user_data !== null ? ['user_data'] : [])].join('\n'));
    case '/openstack/latest/meta_data.json':
      return ok(JSON.stringify(metaDataJson(g)));
    case '/openstack/latest/user_data':
      return g.user_data !== null ? ok(g.user_data) : notFound();
    case '/openstack/latest/vendor_data.json':
      return ok('{}');
    case '/latest/meta-data/hostname':
    case '/latest/meta-data/local-hostname':
      return ok(`${g.hostname}.novalocal`);
    case '/latest/meta-data/instance-id':
      return ok(g.uuid);
    case '/latest/meta-data/local-ipv4':
      return ok(g.nics[0]?.ips.find((i) => i.version === 4)?.addr ?? '');
    case '/latest/meta-data/public-keys/0/openssh-key':
      return g.keys.length ? ok(g.keys[0].data) : notFound();
    default:
      return notFound();
  }
}

function notFound(): HttpAnswer {
  return { status: 404, body: '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>' };
}
