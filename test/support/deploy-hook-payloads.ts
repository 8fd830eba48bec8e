/**
 * Payloads shaped as the deploy tools send them, field for field, after the examples in their
 * documentation: GitHub's `deployment` / `deployment_status` webhook examples (docs.github.com,
 * "Webhook events and payloads"; fields as in github/rest-api-description), Flagger's event webhook
 * (fluxcd/flagger docs/gitbook/usage/webhooks.md and pkg/controller/webhook.go CallEventWebhook),
 * and what Argo CD renders from the template in the README. Only the values differ per test.
 */

const repository = {
  id: 35129377,
  node_id: 'MDEwOlJlcG9zaXRvcnkzNTEyOTM3Nw==',
  name: 'checkout',
  full_name: 'acme/checkout',
  private: true,
  owner: { login: 'acme', id: 21031067, type: 'Organization' },
  html_url: 'https://github.com/acme/checkout',
  default_branch: 'main',
};
const sender = { login: 'octocat', id: 583231, type: 'User' };

export interface GitHubDeployment {
  id: number;
  sha: string;
  ref?: string;
  environment: string;
  createdAt: string;
  task?: string;
  payload?: Record<string, unknown> | string;
}

function deploymentObject(d: GitHubDeployment) {
  return {
    url: `https://api.github.com/repos/acme/checkout/deployments/${d.id}`,
    id: d.id,
    node_id: 'MDEwOkRlcGxveW1lbnQxNDc4NjYwNzY=',
    sha: d.sha,
    ref: d.ref ?? 'main',
    task: d.task ?? 'deploy',
    payload: d.payload ?? {},
    original_environment: d.environment,
    environment: d.environment,
    description: null,
    creator: sender,
    created_at: d.createdAt,
    updated_at: d.createdAt,
    statuses_url: `https://api.github.com/repos/acme/checkout/deployments/${d.id}/statuses`,
    repository_url: 'https://api.github.com/repos/acme/checkout',
    performed_via_github_app: null,
  };
}

/** X-GitHub-Event: deployment */
export function githubDeployment(d: GitHubDeployment) {
  return { action: 'created', deployment: deploymentObject(d), workflow: null, workflow_run: null, repository, sender };
}

/** X-GitHub-Event: deployment_status */
export function githubDeploymentStatus(d: GitHubDeployment, status: { id: number; state: string; createdAt: string }) {
  return {
    action: 'created',
    deployment_status: {
      url: `https://api.github.com/repos/acme/checkout/deployments/${d.id}/statuses/${status.id}`,
      id: status.id,
      node_id: 'MDE2OkRlcGxveW1lbnRTdGF0dXMxNDI5NjcwNTY=',
      state: status.state,
      creator: sender,
      description: '',
      environment: d.environment,
      target_url: '',
      log_url: `https://github.com/acme/checkout/actions/runs/${status.id}`,
      created_at: status.createdAt,
      updated_at: status.createdAt,
      deployment_url: `https://api.github.com/repos/acme/checkout/deployments/${d.id}`,
      repository_url: 'https://api.github.com/repos/acme/checkout',
    },
    deployment: deploymentObject(d),
    check_run: null,
    workflow: null,
    workflow_run: null,
    repository,
    sender,
  };
}

/** X-GitHub-Event: ping (sent once when the webhook is created). */
export const githubPing = {
  zen: 'Keep it logically awesome.',
  hook_id: 423885699,
  hook: { type: 'Repository', id: 423885699, active: true, events: ['deployment', 'deployment_status'] },
  repository,
  sender,
};

/** What the README's Argo CD template renders for one sync operation. */
export function argoCdNotification(o: {
  app: string;
  phase: string;
  revision: string;
  history: string[];
  startedAt: string;
  finishedAt?: string;
  labels?: Record<string, string>;
}) {
  return {
    app: o.app,
    project: 'shop',
    labels: o.labels ?? { 'app.kubernetes.io/instance': o.app, stack: 'eu-west-1', service: 'checkout' },
    destination: { server: 'https://kubernetes.default.svc', name: 'in-cluster', namespace: 'checkout' },
    phase: o.phase,
    startedAt: o.startedAt,
    // text/template prints "<no value>" for a key the Application does not have yet.
    finishedAt: o.finishedAt ?? '<no value>',
    revision: o.revision,
    history: o.history,
  };
}

/** Flagger's event webhook: metadata.timestamp is epoch milliseconds as a string. */
export function flaggerEvent(o: {
  name?: string;
  namespace?: string;
  phase: string;
  message: string;
  type?: 'Normal' | 'Warning';
  ts: number;
  extra?: Record<string, string>;
}) {
  return {
    name: o.name ?? 'podinfo',
    namespace: o.namespace ?? 'test',
    phase: o.phase,
    checksum: '6d9f7c8b5',
    metadata: { eventMessage: o.message, eventType: o.type ?? 'Normal', timestamp: String(o.ts), ...(o.extra ?? {}) },
  };
}
