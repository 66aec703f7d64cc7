// Default policy rules (Nova, Glance, Keystone defaults with legacy scope): pure checks on credentials.
import type { Policy } from './actions.ts';

export interface Credentials {
  user_id: string;
  project_id: string | null;
  domain_id?: string | null;
  roles: string[];
}

/** Keystone's default implied roles: admin ⇒ manager ⇒ member ⇒ reader. */
export function effectiveRoles(roles: string[]): Set<string> {
  const out = new Set(roles.map((r) => r.toLowerCase()));
  if (out.has('admin')) out.add('manager');
  if (out.has('manager')) out.add('member');
  if (out.has('member')) out.add('reader');
  return out;
}

export function isAdmin(c: Credentials): boolean {
  return effectiveRoles(c.roles).has('admin');
}

/** `(role:<rule> and project_id:%(project_id)s) or role:admin`; `admin` is `role:admin`. */
export function allows(policy: Policy, c: Credentials, target: { project_id: string }): boolean {
  const roles = effectiveRoles(c.roles);
  if (roles.has('admin')) return true;
  if (policy === 'admin') return false;
  return roles.has(policy) && c.project_id === target.project_id;
}

export function policyMessage(rule: string): string {
  return `Policy doesn't allow ${rule} to be performed.`;
}
