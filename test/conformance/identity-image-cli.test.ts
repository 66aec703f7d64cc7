// Debian's `openstack` CLI, unmodified, as a tenant-onboarding pipeline and an image pipeline use it:
// an admin makes a domain, a project in it, a group, a user in the group and a role for the group on
// the project; the user makes an application credential; a clouds.yaml with
// `auth_type: v3applicationcredential` boots a server in the project; everything is torn down. Then
// an image goes in through glance-direct import (`image create --import`) and a server boots from it.
// Skipped where /usr/bin/openstack is not installed (CI installs it).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { debianEnv, haveOpenstackCli } from '../../conformance/lib/debian.ts';
import { openstack, openstackJson, openstackOk, startClientCloud, type ClientCloud } from './clients.ts';

const skip = haveOpenstackCli() ? false : '/usr/bin/openstack is not installed (apt-get install python3-openstackclient)';

describe('openstack CLI: identity administration, application credentials and image import', { skip, timeout: 600_000 }, () => {
  let cloud: ClientCloud;
  let admin: NodeJS.ProcessEnv;
  before(async () => {
    cloud = await startClientCloud();
    admin = { ...cloud.env, OS_USERNAME: 'admin', OS_PASSWORD: 'secret', OS_PROJECT_NAME: 'admin' };
  });
  after(async () => {
    await cloud?.stop();
  });

  test('domain, project, group, user, group role, application credential, a server with it, and the teardown', async () => {
    const domain = await openstackJson<{ id: string; name: string; enabled: boolean }>(admin, ['domain', 'create', '--description', 'tenant domain', 'acme']);
    assert.equal(domain.name, 'acme');
    const project = await openstackJson<{ id: string; domain_id: string }>(admin, ['project', 'create', '--domain', 'acme', '--tag', 'ci', 'tenant1']);
    assert.equal(project.domain_id, domain.id);
    const group = await openstackJson<{ id: string }>(admin, ['group', 'create', '--domain', 'acme', 'devs']);
    const user = await openstackJson<{ id: string }>(admin, ['user', 'create', '--domain', 'acme', '--password', 'pw-alice', 'alice']);
    await openstackOk(admin, ['group', 'add', 'user', '--group-domain', 'acme', '--user-domain', 'acme', 'devs', 'alice']);
    await openstackOk(admin, ['role', 'add', '--group', 'devs', '--group-domain', 'acme', '--project', 'tenant1', '--project-domain', 'acme', 'member']);
    const assignments = await openstackJson<{ Role: string; User: string; Project: string }[]>(admin, ['role', 'assignment', 'list', '--effective', '--user', user.id, '--names']);
    assert.ok(assignments.some((a) => a.Role === 'member' && a.User.startsWith('alice') && a.Project.startsWith('tenant1')), JSON.stringify(assignments));

    const alice: NodeJS.ProcessEnv = {
      ...cloud.env, OS_USERNAME: 'alice', OS_PASSWORD: 'pw-alice', OS_USER_DOMAIN_NAME: 'acme', OS_PROJECT_NAME: 'tenant1', OS_PROJECT_DOMAIN_NAME: 'acme',
    };
    const cred = await openstackJson<{ id: string; secret: string; project_id: string }>(alice, ['application', 'credential', 'create', '--description', 'ci pipeline', 'ci']);
    assert.equal(cred.project_id, project.id);
    assert.ok(cred.secret.length >= 16);

    // A pipeline's clouds.yaml holds nothing but the credential.
    const yaml = join(cloud.nb.dir, 'appcred-clouds.yaml');
    writeFileSync(yaml, [
      'clouds:', '  ci:', '    auth_type: v3applicationcredential', '    auth:', `      auth_url: ${cloud.nb.url}/identity/v3`,
      `      application_credential_id: ${cred.id}`, `      application_credential_secret: ${cred.secret}`, '    region_name: RegionOne', '    identity_api_version: 3', '',
    ].join('\n'));
    const ci = debianEnv({ OS_CLIENT_CONFIG_FILE: yaml, HOME: cloud.nb.dir });
    const tok = await openstackJson<{ project_id: string; user_id: string }>(ci, ['--os-cloud', 'ci', 'token', 'issue']);
    assert.equal(tok.project_id, project.id);
    assert.equal(tok.user_id, user.id);
    const server = await openstackJson<{ id: string; status: string }>(ci, ['--os-cloud', 'ci', 'server', 'create', '--flavor', 'm1.nano', '--image', cloud.facts.imageName, '--wait', 'from-pipeline']);
    assert.equal(server.status, 'ACTIVE');
    const listed = await openstackJson<{ ID: string }[]>(ci, ['--os-cloud', 'ci', 'server', 'list']);
    assert.deepEqual(listed.map((s) => s.ID), [server.id]);
    await openstackOk(ci, ['--os-cloud', 'ci', 'server', 'delete', '--wait', server.id]);

    // Teardown, in the order a pipeline undoes it.
    await openstackOk(alice, ['application', 'credential', 'delete', 'ci']);
    const refused = await openstack(ci, ['--os-cloud', 'ci', 'token', 'issue']);
    assert.notEqual(refused.code, 0, 'a deleted application credential no longer authenticates');
    await openstackOk(admin, ['role', 'remove', '--group', 'devs', '--group-domain', 'acme', '--project', 'tenant1', '--project-domain', 'acme', 'member']);
    await openstackOk(admin, ['group', 'remove', 'user', '--group-domain', 'acme', '--user-domain', 'acme', 'devs', 'alice']);
    await openstackOk(admin, ['user', 'delete', '--domain', 'acme', 'alice']);
    await openstackOk(admin, ['group', 'delete', '--domain', 'acme', group.id]);
    await openstackOk(admin, ['project', 'delete', '--domain', 'acme', 'tenant1']);
    const stillEnabled = await openstack(admin, ['domain', 'delete', 'acme']);
    assert.notEqual(stillEnabled.code, 0, 'an enabled domain cannot be deleted');
    await openstackOk(admin, ['domain', 'set', '--disable', 'acme']);
    await openstackOk(admin, ['domain', 'delete', 'acme']);
    const domains = await openstackJson<{ Name: string }[]>(admin, ['domain', 'list']);
    assert.deepEqual(domains.map((d) => d.Name), ['Default']);
  });

  test('an image uploaded through glance-direct import, and a server booted from it', async () => {
    const env = cloud.env;
    const file = join(cloud.nb.dir, 'imported.img');
    const data = Buffer.from('a raw disk image imported through glance-direct\n'.repeat(200));
    writeFileSync(file, data);
    const created = await openstackJson<{ id: string }>(env, ['image', 'create', '--import', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'imported']);
    let img: { status: string; checksum: string; size: number } = { status: '', checksum: '', size: 0 };
    for (let i = 0; i < 100; i++) {
      img = await openstackJson(env, ['image', 'show', created.id]);
      if (img.status === 'active') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(img.status, 'active');
    assert.equal(img.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(img.size, data.length);
    const server = await openstackJson<{ id: string; status: string; image: string }>(env, ['server', 'create', '--flavor', 'm1.nano', '--image', created.id, '--wait', 'from-import']);
    assert.equal(server.status, 'ACTIVE');
    assert.match(JSON.stringify(server.image), new RegExp(created.id));
    await openstackOk(env, ['server', 'delete', '--wait', server.id]);
    await openstackOk(env, ['image', 'delete', created.id]);
  });
});
