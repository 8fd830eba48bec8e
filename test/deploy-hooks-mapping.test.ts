import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fromArgoCd } from '../src/adapters/deploy-hooks/argocd.js';
import { deployHooksConfigSchema } from '../src/adapters/deploy-hooks/config.js';
import { fromFlagger } from '../src/adapters/deploy-hooks/flagger.js';
import { fromGitHub } from '../src/adapters/deploy-hooks/github.js';
import { signGitHubPayload, verifyGitHubSignature } from '../src/adapters/deploy-hooks/github-signature.js';
import { parseConfig } from '../src/config/load.js';
import { argoCdNotification, flaggerEvent, githubDeployment, githubDeploymentStatus, githubPing } from './support/deploy-hook-payloads.js';

const cfg = deployHooksConfigSchema.parse({ github: { stacks: { 'production-west': 'us-west-2' } }, flagger: { services: { 'test/podinfo': 'checkout' } } });
const SHA = '9fceb02d0ae598e95dc970b74767f19372d61af8';
const deploy = { id: 1478660761, sha: SHA, ref: 'v2.14.0', environment: 'production-west', createdAt: '2026-03-02T10:01:20Z' };

describe('GitHub deployment and deployment_status → context events', () => {
  // Table: [case, X-GitHub-Event, payload, expected kind/status or the ignored reason's start].
  const cases: [string, string, unknown, { kind: string; id: string; ts: string; status: string } | string][] = [
    [
      'a deployment starts the change, at its creation',
      'deployment',
      githubDeployment(deploy),
      { kind: 'deployment', id: 'github-acme/checkout-1478660761', ts: '2026-03-02T10:01:20Z', status: 'started' },
    ],
    [
      'success ends it',
      'deployment_status',
      githubDeploymentStatus(deploy, { id: 4296705611, state: 'success', createdAt: '2026-03-02T10:04:20Z' }),
      { kind: 'deployment', id: 'github-acme/checkout-1478660761-success', ts: '2026-03-02T10:04:20Z', status: 'succeeded' },
    ],
    [
      'failure is a failed change',
      'deployment_status',
      githubDeploymentStatus(deploy, { id: 4296705612, state: 'failure', createdAt: '2026-03-02T10:03:00Z' }),
      { kind: 'deployment', id: 'github-acme/checkout-1478660761-failure', ts: '2026-03-02T10:03:00Z', status: 'failed' },
    ],
    [
      'error too',
      'deployment_status',
      githubDeploymentStatus(deploy, { id: 4296705613, state: 'error', createdAt: '2026-03-02T10:03:00Z' }),
      { kind: 'deployment', id: 'github-acme/checkout-1478660761-error', ts: '2026-03-02T10:03:00Z', status: 'failed' },
    ],
    [
      'a rollback task is a rollback',
      'deployment',
      githubDeployment({ ...deploy, id: 1478660999, task: 'deploy:rollback' }),
      { kind: 'rollback', id: 'github-acme/checkout-1478660999', ts: '2026-03-02T10:01:20Z', status: 'started' },
    ],
    [
      'in_progress is a step, not a change',
      'deployment_status',
      githubDeploymentStatus(deploy, { id: 1, state: 'in_progress', createdAt: '2026-03-02T10:02:00Z' }),
      "ignored: deployment_status 'in_progress'",
    ],
    [
      'inactive retires an old deployment',
      'deployment_status',
      githubDeploymentStatus(deploy, { id: 2, state: 'inactive', createdAt: '2026-03-02T10:02:00Z' }),
      "ignored: deployment_status 'inactive'",
    ],
    ['ping', 'ping', githubPing, 'ignored: ping'],
    ['another event type', 'push', { ref: 'refs/heads/main' }, "ignored: GitHub 'push' events"],
  ];
  for (const [name, event, payload, want] of cases) {
    it(name, () => {
      const r = fromGitHub(event, payload, cfg.github);
      if (typeof want === 'string') {
        expect(r).toMatchObject({ kind: 'ignored' });
        expect((r as { reason: string }).reason.startsWith(want)).toBe(true);
        return;
      }
      expect(r.kind).toBe('events');
      const [e] = (r as unknown as { records: Record<string, unknown>[] }).records;
      expect(e).toMatchObject({ type: 'event', kind: want.kind, id: want.id, ts: want.ts, stack: 'us-west-2', service: 'checkout' });
      expect(e!['attributes']).toMatchObject({ version: SHA, sha: SHA, ref: 'v2.14.0', status: want.status, environment: 'production-west', source: 'github' });
    });
  }

  it('takes stack, service and versions from the deployment payload when the workflow sets them', () => {
    const r = fromGitHub(
      'deployment',
      githubDeployment({ ...deploy, payload: { stack: 'eu-west-1', service: 'payments', version: 'v2.14.0', previousVersion: 'v2.7.1' } }),
      cfg.github,
    );
    expect(r).toMatchObject({
      kind: 'events',
      records: [{ stack: 'eu-west-1', service: 'payments', attributes: { version: 'v2.14.0', previousVersion: 'v2.7.1', sha: SHA } }],
    });
  });

  it('an environment not listed in deployHooks.github.stacks is a stack of its own name', () => {
    const r = fromGitHub('deployment', githubDeployment({ ...deploy, environment: 'us-east-1' }), cfg.github);
    expect(r).toMatchObject({ records: [{ stack: 'us-east-1' }] });
  });

  it('names the missing field of a payload that is not GitHub’s', () => {
    const r = fromGitHub('deployment', { action: 'created', deployment: { id: 'x' } }, cfg.github);
    expect(r.kind).toBe('invalid');
    expect((r as { details: string[] }).details).toContain('deployment.id: Invalid input: expected number, received string');
  });

  it('verifies X-Hub-Signature-256 over the raw bytes', () => {
    const body = Buffer.from(JSON.stringify(githubDeployment(deploy)));
    const secret = 'It’s a Secret to Everybody';
    expect(verifyGitHubSignature(secret, signGitHubPayload(secret, body), body)).toEqual({ ok: true });
    // GitHub's documented test vector: secret "It's a Secret to Everybody", payload "Hello, World!".
    expect(signGitHubPayload("It's a Secret to Everybody", 'Hello, World!')).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
    expect(verifyGitHubSignature(secret, signGitHubPayload('another secret', body), body)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('mismatch'),
    });
    expect(verifyGitHubSignature(secret, undefined, body)).toMatchObject({ ok: false, reason: expect.stringContaining('missing X-Hub-Signature-256') });
    expect(verifyGitHubSignature(secret, 'sha1=abc', body)).toMatchObject({ ok: false, reason: expect.stringContaining('malformed') });
    const flipped = Buffer.from(body);
    flipped[10] = flipped[10]! ^ 1;
    expect(verifyGitHubSignature(secret, signGitHubPayload(secret, body), flipped).ok).toBe(false);
  });
});

describe('Argo CD notification (the README template) → context events', () => {
  const c = deployHooksConfigSchema.parse({}).argocd;
  const base = { app: 'checkout-eu', revision: 'c3f1e2a', startedAt: '2026-03-02T10:01:20Z' };
  it('Running starts a deployment, naming the revision deployed before it', () => {
    const r = fromArgoCd(argoCdNotification({ ...base, phase: 'Running', history: ['a11aa11', 'b22bb22'] }), c);
    expect(r).toMatchObject({
      kind: 'events',
      records: [
        {
          kind: 'deployment',
          ts: '2026-03-02T10:01:20Z',
          stack: 'eu-west-1',
          service: 'checkout',
          id: 'argocd-checkout-eu-2026-03-02T10:01:20Z-started',
          attributes: { version: 'c3f1e2a', previousVersion: 'b22bb22', status: 'started', application: 'checkout-eu', project: 'shop' },
        },
      ],
    });
  });
  it('Succeeded is stamped at finishedAt, with or without the sync already in the history', () => {
    for (const history of [
      ['a11aa11', 'b22bb22'],
      ['a11aa11', 'b22bb22', 'c3f1e2a'],
    ]) {
      const r = fromArgoCd(argoCdNotification({ ...base, phase: 'Succeeded', finishedAt: '2026-03-02T10:03:05Z', history }), c);
      expect(r).toMatchObject({
        records: [{ kind: 'deployment', ts: '2026-03-02T10:03:05Z', attributes: { previousVersion: 'b22bb22', status: 'succeeded' } }],
      });
    }
  });
  it('a sync back to a revision of the history is a rollback', () => {
    const r = fromArgoCd(argoCdNotification({ ...base, revision: 'a11aa11', phase: 'Running', history: ['a11aa11', 'b22bb22'] }), c);
    expect(r).toMatchObject({ records: [{ kind: 'rollback', attributes: { version: 'a11aa11', previousVersion: 'b22bb22' } }] });
  });
  it('a re-sync of the deployed revision, Terminating, and an Application without the stack label are ignored (2xx)', () => {
    expect(fromArgoCd(argoCdNotification({ ...base, revision: 'b22bb22', phase: 'Running', history: ['a11aa11', 'b22bb22'] }), c)).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('re-syncing'),
    });
    expect(fromArgoCd(argoCdNotification({ ...base, phase: 'Terminating', history: [] }), c)).toMatchObject({ kind: 'ignored' });
    expect(fromArgoCd(argoCdNotification({ ...base, phase: 'Running', history: [], labels: {} }), c)).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining("no 'stack' label"),
    });
  });
  it('takes the stack from the destination cluster when configured, through the renames', () => {
    const byCluster = deployHooksConfigSchema.parse({ argocd: { stackFrom: 'cluster', stacks: { 'in-cluster': 'eu-central-1' } } }).argocd;
    expect(fromArgoCd(argoCdNotification({ ...base, phase: 'Failed', finishedAt: '2026-03-02T10:02:00Z', history: [] }), byCluster)).toMatchObject({
      records: [{ stack: 'eu-central-1', attributes: { status: 'failed' } }],
    });
  });
  it('reads what Argo CD renders from the README’s template (rendered with Go’s text/template: scripts/argocd-template)', () => {
    // The README's ConfigMap carries the very template the renderings were made from.
    const readme = readFileSync('README.md', 'utf8');
    const from = readme.indexOf('  template.harbinger-sync: |');
    const block = readme.slice(readme.indexOf('        body: |\n', from) + '        body: |\n'.length, readme.indexOf('  trigger.on-harbinger-sync: |', from));
    const inReadme = block
      .split('\n')
      .map((l) => l.slice(10))
      .join('\n')
      .trimEnd();
    expect(inReadme).toBe(readFileSync('scripts/argocd-template/body.tmpl', 'utf8').trimEnd());
    const rendered = (name: string) => JSON.parse(readFileSync(`test/support/argocd/rendered-${name}.json`, 'utf8')) as unknown;
    expect(fromArgoCd(rendered('running'), c)).toEqual({
      kind: 'events',
      records: [
        {
          type: 'event',
          ts: '2026-03-02T10:01:20Z',
          kind: 'deployment',
          id: 'argocd-checkout-eu-2026-03-02T10:01:20Z-started',
          stack: 'eu-west-1',
          service: 'checkout',
          attributes: {
            version: 'c3f1e2a9d8b7',
            previousVersion: 'b22bb22f00d2',
            status: 'started',
            source: 'argocd',
            application: 'checkout-eu',
            project: 'shop',
            namespace: 'checkout',
          },
        },
      ],
    });
    // No labels on this Application: by label it has no stack (ignored); by cluster it is the destination's name.
    expect(fromArgoCd(rendered('succeeded'), c)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining("no 'stack' label") });
    const byCluster = deployHooksConfigSchema.parse({ argocd: { stackFrom: 'cluster' } }).argocd;
    expect(fromArgoCd(rendered('succeeded'), byCluster)).toMatchObject({
      records: [
        {
          kind: 'deployment',
          ts: '2026-03-02T10:03:05Z',
          stack: 'eu-cluster',
          service: 'checkout-eu',
          attributes: { version: 'c3f1e2a9d8b7', previousVersion: 'b22bb22f00d2', status: 'succeeded' },
        },
      ],
    });
  });

  it('says which field a body that is not the template lacks', () => {
    const r = fromArgoCd({ text: 'Application checkout-eu sync is Synced' }, c);
    expect(r).toMatchObject({ kind: 'invalid', details: expect.arrayContaining(['app: Invalid input: expected string, received undefined']) });
  });
});

describe('Flagger event webhook → context events', () => {
  const T = Date.UTC(2026, 2, 6, 9, 46, 40);
  const cases: [string, string, string, { kind: string; status: string } | string][] = [
    ['New revision detected! Scaling up podinfo.test', 'Progressing', 'Normal', { kind: 'deployment', status: 'started' }],
    ['Promotion completed! Scaling down podinfo.test', 'Succeeded', 'Normal', { kind: 'deployment', status: 'succeeded' }],
    ['Canary failed! Scaling down podinfo.test', 'Failed', 'Warning', { kind: 'rollback', status: 'rolled_back' }],
    ['Advance podinfo.test canary weight 10', 'Progressing', 'Normal', 'ignored: Flagger event "Advance podinfo.test canary weight 10"'],
    ['Halt podinfo.test advancement success rate 69.17% < 99%', 'Progressing', 'Warning', 'ignored: Flagger event'],
    ['Rolling back podinfo.test failed checks threshold reached 5', 'Progressing', 'Warning', 'ignored: Flagger event'],
  ];
  for (const [message, phase, type, want] of cases) {
    it(message, () => {
      const r = fromFlagger(flaggerEvent({ phase, message, type: type as 'Normal', ts: T }), cfg.flagger);
      if (typeof want === 'string') return expect((r as { reason: string }).reason.startsWith(want)).toBe(true);
      expect(r).toMatchObject({
        kind: 'events',
        records: [
          {
            kind: want.kind,
            ts: T,
            stack: 'canary',
            service: 'checkout',
            id: `flagger-test/podinfo-${T}-${want.status}`,
            attributes: { status: want.status, phase, message },
          },
        ],
      });
    });
  }
  it('keeps a token given in the metadata out of the event, and takes metadata.stack', () => {
    const r = fromFlagger(
      flaggerEvent({
        phase: 'Progressing',
        message: 'New revision detected! Scaling up podinfo.test',
        ts: T,
        extra: { token: 'secret-token-0123456789', stack: 'canary-eu' },
      }),
      cfg.flagger,
    );
    expect(JSON.stringify(r)).not.toContain('secret-token');
    expect(r).toMatchObject({ records: [{ stack: 'canary-eu' }] });
  });
  it('refuses a body without the event fields, naming them', () => {
    expect(fromFlagger({ name: 'podinfo', namespace: 'test', phase: 'Progressing', metadata: { test: 'all' } }, cfg.flagger)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('metadata.eventMessage'),
    });
    expect(fromFlagger(flaggerEvent({ phase: 'Progressing', message: 'New revision detected! x', ts: T, extra: {} }), cfg.flagger).kind).toBe('events');
    const noTs = flaggerEvent({ phase: 'Progressing', message: 'New revision detected! x', ts: T });
    noTs.metadata.timestamp = '2026-03-06';
    expect(fromFlagger(noTs, cfg.flagger)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('metadata.timestamp') });
  });
});

describe('deployHooks configuration', () => {
  it('names a misspelled key and the known one it was meant to be', () => {
    expect(() => parseConfig({ deployHooks: { argocd: { stackLabl: 'region' } } })).toThrow(
      "deployHooks.argocd: unknown key 'stackLabl' (did you mean 'stackLabel'?)",
    );
    expect(() => parseConfig({ deployHooks: { argocd: { stackFrom: 'label-value' } } })).toThrow('deployHooks.argocd.stackFrom');
    expect(() => parseConfig({ deployHooks: { gitHub: {} } })).toThrow("deployHooks: unknown key 'gitHub' (did you mean 'github'?)");
  });
});
