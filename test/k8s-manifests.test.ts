import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '@stagewatch/shared';
import { SERVE_FLAGS } from '../collector/src/config/flags.js';
import { ROOT } from './helpers/fixtures.js';

const K8S = path.join(ROOT, 'deploy', 'k8s');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const require = createRequire(import.meta.url);

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}
const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
const docs = files.flatMap((f) => (yaml.loadAll(readFileSync(path.join(K8S, f), 'utf8')) as Doc[]).filter(Boolean).map((d) => ({ file: f, doc: d })));

/** kubernetes-models' class for an object: its JSON schema comes from the Kubernetes OpenAPI spec. */
function modelOf(doc: Doc): { new (data: unknown): { validate(): void } } {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : [null, doc.apiVersion];
  const mod = require(`kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`) as Record<string, { new (data: unknown): { validate(): void } }>;
  const cls = mod[doc.kind];
  if (!cls) throw new Error(`no model for ${doc.apiVersion} ${doc.kind}`);
  return cls;
}

describe('Kubernetes manifests', () => {
  it.each(docs.map(({ file, doc }) => [`${file}: ${doc.kind} ${doc.metadata.name}`, doc] as const))('%s validates against the Kubernetes schema', (_name, doc) => {
    const Model = modelOf(doc);
    expect(() => new Model(doc).validate()).not.toThrow();
  });

  it('the schema check catches a broken object (it is not a no-op)', () => {
    const svc = docs.find(({ doc }) => doc.kind === 'Service')?.doc as Doc;
    const broken = { ...svc, spec: { ...svc.spec, ports: [{ port: 'seven' }] } };
    expect(() => new (modelOf(broken))(broken).validate()).toThrow(/port must be integer/);
  });

  it('the collector keeps its store on a persistent volume, at the --data it is given, behind a Service', () => {
    const sts = docs.find(({ doc }) => doc.kind === 'StatefulSet')?.doc as Doc & {
      spec: {
        replicas: number;
        template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ args: string[]; ports: Array<{ name: string }>; volumeMounts: Array<{ name: string; mountPath: string }>; readinessProbe: { httpGet: { path: string } } }> } };
        volumeClaimTemplates: Array<{ metadata: { name: string } }>;
      };
    };
    expect(sts.spec.replicas).toBe(1);
    const c = sts.spec.template.spec.containers[0];
    const { values } = parseFlags((c?.args ?? []).slice(1), SERVE_FLAGS);
    const mount = c?.volumeMounts.find((m) => m.mountPath === values.data);
    expect(mount, 'a volume at --data').toBeDefined();
    expect(sts.spec.volumeClaimTemplates.map((v) => v.metadata.name)).toContain(mount?.name);
    expect(values.host).toBe('0.0.0.0');
    expect(c?.readinessProbe.httpGet.path).toBe('/healthz');
    const svc = docs.find(({ doc }) => doc.kind === 'Service')?.doc as Doc & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string; port: number }> } };
    expect(sts.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(c?.ports.map((p) => p.name)).toContain(svc.spec.ports[0]?.targetPort);
    expect(svc.spec.ports[0]?.port).toBe(Number(values.port));
    expect(svc.metadata.namespace).toBe('stagewatch');
  });

  it('images are tagged with the release version, here, in compose and in the Dockerfile', () => {
    const images = docs.flatMap(({ doc }) => JSON.stringify(doc).match(/"image":"[^"]+"/g) ?? []);
    expect(images.length).toBeGreaterThanOrEqual(2);
    for (const i of images) expect(i).toBe(`"image":"stagewatch:${VERSION}"`);
    expect(readFileSync(path.join(ROOT, 'deploy', 'docker-compose.yml'), 'utf8')).toContain(`image: stagewatch:${VERSION}`);
    expect(readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8')).toContain(`ARG VERSION=${VERSION}`);
  });
});
