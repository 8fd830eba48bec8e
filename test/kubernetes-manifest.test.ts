import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

interface Container {
  name: string;
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}

describe('the Kubernetes example (deploy/kubernetes/prometheus-with-harbinger.yaml)', () => {
  const docs = parseAllDocuments(readFileSync('deploy/kubernetes/prometheus-with-harbinger.yaml', 'utf8')).map(
    (d) => d.toJSON() as { kind: string; spec?: any },
  );

  it('commits no Secret: the token is created with kubectl, as its header says', () => {
    expect(docs.map((d) => d.kind)).not.toContain('Secret');
    expect(readFileSync('deploy/kubernetes/prometheus-with-harbinger.yaml', 'utf8')).toContain('kubectl create secret generic harbinger');
  });

  it('runs every container unprivileged, and the sidecar has no readiness of its own to take Prometheus down', () => {
    const set = docs.find((d) => d.kind === 'StatefulSet')!;
    const pod = set.spec.template.spec as { securityContext: { runAsNonRoot: boolean }; containers: Container[] };
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    for (const c of pod.containers) {
      expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
    const harbinger = pod.containers.find((c) => c.name === 'harbinger')!;
    expect(harbinger.readinessProbe).toBeUndefined();
    expect(harbinger.livenessProbe).toBeDefined();
    expect(set.spec.replicas).toBe(1);
  });
});
