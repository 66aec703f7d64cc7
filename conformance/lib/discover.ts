// Asks a running novabox, through its public API only, for what tempest.conf needs: a token per
// account (a preflight that every pre-provisioned account can log in), image ids, flavor ids and
// the compute API's maximum microversion.
export interface Account { username: string; password: string; project_name: string; admin?: boolean }

export interface Session { token: string; catalog: CatalogEntry[] }
interface CatalogEntry { type: string; endpoints: { interface: string; url: string; region?: string }[] }

export class DiscoveryError extends Error {}

export async function authenticate(identityV3: string, a: Account, domain = 'Default'): Promise<Session> {
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: a.username, domain: { name: domain }, password: a.password } } },
      scope: { project: { name: a.project_name, domain: { name: domain } } },
    },
  };
  const res = await fetch(`${identityV3}/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 201) throw new DiscoveryError(`account ${a.username}/${a.project_name} cannot log in: POST /auth/tokens → ${res.status} ${text.slice(0, 300)}`);
  const token = res.headers.get('x-subject-token');
  if (!token) throw new DiscoveryError(`account ${a.username}: POST /auth/tokens returned no X-Subject-Token`);
  const parsed = JSON.parse(text) as { token?: { catalog?: CatalogEntry[] } };
  return { token, catalog: parsed.token?.catalog ?? [] };
}

export function endpoint(s: Session, type: string): string {
  const entry = s.catalog.find((e) => e.type === type);
  const ep = entry?.endpoints.find((e) => e.interface === 'public') ?? entry?.endpoints[0];
  if (!ep) throw new DiscoveryError(`the catalog has no public '${type}' endpoint (types: ${s.catalog.map((e) => e.type).join(', ') || 'none'})`);
  return ep.url.replace(/\/$/, '');
}

async function getJson(url: string, token: string | null): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['x-auth-token'] = token;
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new DiscoveryError(`GET ${url} → ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

export interface CloudFacts {
  imageRef: string;
  imageRefAlt: string;
  imageName: string;
  flavorRef: string;
  flavorRefAlt: string;
  maxMicroversion: string;
  computeUrl: string;
  imageUrl: string;
  /** The external network floating IPs come from (devstack's `public`), when networking is in the catalog. */
  publicNetwork?: { id: string; name: string };
}

/** devstack's PUBLIC_NETWORK_NAME: the external network tempest's public_network_id and floating pool name. */
async function publicNetwork(s: Session): Promise<{ id: string; name: string } | undefined> {
  if (!s.catalog.some((e) => e.type === 'network')) return undefined;
  const url = `${endpoint(s, 'network')}/v2.0/networks?router:external=True`;
  const nets = ((await getJson(url, s.token)) as { networks?: { id: string; name: string }[] }).networks ?? [];
  const found = nets.find((n) => n.name === 'public') ?? nets[0];
  return found && { id: found.id, name: found.name };
}

/** The versioned compute root, e.g. http://h:p/compute/v2.1 (catalog URLs may carry the project id). */
export function computeRoot(computeUrl: string): string {
  const m = /^(.*?\/v2(\.1)?)(\/.*)?$/.exec(computeUrl);
  return m ? m[1] : computeUrl;
}

export async function discover(s: Session, flavorNames: [string, string] = ['m1.nano', 'm1.micro']): Promise<CloudFacts> {
  const computeUrl = endpoint(s, 'compute');
  const imageUrl = endpoint(s, 'image');
  const images = ((await getJson(`${imageUrl}/v2/images`, s.token)) as { images?: { id: string; name: string; status: string }[] }).images ?? [];
  const active = images.filter((i) => i.status === 'active');
  if (active.length === 0) throw new DiscoveryError(`no active image in GET ${imageUrl}/v2/images`);
  // Prefer cirros-like images, as a real cloud's tempest setup would.
  active.sort((a, b) => Number(/cirros/i.test(b.name)) - Number(/cirros/i.test(a.name)) || a.name.localeCompare(b.name));
  const flavors = ((await getJson(`${computeUrl}/flavors`, s.token)) as { flavors?: { id: string; name: string }[] }).flavors ?? [];
  const pick = (name: string) => {
    const f = flavors.find((x) => x.name === name);
    if (!f) throw new DiscoveryError(`flavor ${name} not found in GET ${computeUrl}/flavors (have: ${flavors.map((x) => x.name).join(', ') || 'none'})`);
    return f.id;
  };
  const root = computeRoot(computeUrl);
  const base = root.replace(/\/v2(\.1)?$/, '');
  const versions = ((await getJson(base, null)) as { versions?: { id: string; version: string }[] }).versions ?? [];
  const v21 = versions.find((v) => v.id === 'v2.1');
  if (!v21?.version) throw new DiscoveryError(`GET ${base} has no v2.1 entry with a version`);
  return {
    imageRef: active[0].id,
    imageRefAlt: (active[1] ?? active[0]).id,
    imageName: active[0].name,
    flavorRef: pick(flavorNames[0]),
    flavorRefAlt: pick(flavorNames[1]),
    maxMicroversion: v21.version,
    computeUrl,
    imageUrl,
    publicNetwork: await publicNetwork(s),
  };
}
