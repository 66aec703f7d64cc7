// Self and bookmark links as Nova builds them: self carries /v2.1, bookmark does not; a project id
// segment appears only when the request URL had one.
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../config.ts';
import { publicUrl } from '../../../config.ts';

export interface LinkBase {
  /** <public url>/compute */
  root: string;
  /** '' or '/<project_id>' as it appeared in the request URL. */
  project: string;
}

export function linkBase(cfg: Config, req: FastifyRequest): LinkBase {
  const pid = (req.params as { project_id?: string } | undefined)?.project_id;
  return { root: `${publicUrl(cfg)}/compute`, project: pid ? `/${pid}` : '' };
}

export function selfHref(b: LinkBase, collection: string, id: string): string {
  return `${b.root}/v2.1${b.project}/${collection}/${id}`;
}

export function bookmarkHref(b: LinkBase, collection: string, id: string): string {
  return `${b.root}${b.project}/${collection}/${id}`;
}

export function resourceLinks(b: LinkBase, collection: string, id: string): { rel: string; href: string }[] {
  return [
    { rel: 'self', href: selfHref(b, collection, id) },
    { rel: 'bookmark', href: bookmarkHref(b, collection, id) },
  ];
}

/** `servers_links`-style next link: every request parameter sorted by name (last value kept), then marker. */
export function nextLink(b: LinkBase, path: string, params: Map<string, string[]>, marker: string): { rel: 'next'; href: string } {
  const q = new URLSearchParams();
  for (const k of [...params.keys()].filter((k) => k !== 'marker').sort()) {
    const vals = params.get(k)!;
    q.append(k, vals[vals.length - 1]);
  }
  q.append('marker', marker);
  return { rel: 'next', href: `${b.root}/v2.1${b.project}/${path}?${q.toString()}` };
}
