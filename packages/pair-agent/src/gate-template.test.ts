/**
 * What counts as the gate being in place, and the patch that puts it there. Applying the patch
 * to a real API server is exercised in pair-agent.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { GATE_CONTAINER, gateCommand, gateInitContainer, gatePatch, gateProblem, gateVolume } from './gate-template.js';

const db = { namespace: 'apps', name: 'db' };
const gate = { dir: '/run/cx-pair', image: 'busybox:1.37.0' };
const app = { name: 'db', image: 'registry.example/db:1' };
const migrate = { name: 'migrate', image: 'registry.example/db:1', command: ['migrate'] };
const data = { name: 'data', emptyDir: {} };

function deployment(initContainers: object[] | undefined, volumes: object[] | undefined): V1Deployment {
  return {
    metadata: { name: 'db', namespace: 'apps', resourceVersion: '42' },
    spec: {
      selector: { matchLabels: { app: 'db' } },
      template: {
        spec: { containers: [app], ...(initContainers ? { initContainers } : {}), ...(volumes ? { volumes } : {}) },
      },
    },
  } as V1Deployment;
}

describe('the start gate in a pod template', () => {
  it("waits for the singleton's token in the mounted gate directory", () => {
    const command = gateCommand(db);
    assert.deepEqual(command.slice(0, 2), ['sh', '-c']);
    assert.match(command[2]!, /until \[ -f \/gate\/apps_db \]; do sleep 1; done$/);
    const container = gateInitContainer(db, gate);
    assert.equal(container.image, 'busybox:1.37.0');
    assert.deepEqual(container.volumeMounts, [{ name: 'cx-pair-gate', mountPath: '/gate', readOnly: true }]);
    assert.deepEqual(gateVolume(gate), {
      name: 'cx-pair-gate',
      hostPath: { path: '/run/cx-pair', type: 'DirectoryOrCreate' },
    });
  });

  it('is in place only as the first init container with the configured image, command, mount and hostPath', () => {
    const good = gateInitContainer(db, gate);
    const volume = gateVolume(gate);
    assert.equal(gateProblem(deployment([good, migrate], [data, volume]), db, gate), undefined);
    // Fields the API server defaults do not make it different.
    assert.equal(
      gateProblem(
        deployment(
          [{ ...good, imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }],
          [volume],
        ),
        db,
        gate,
      ),
      undefined,
    );
    const cases: Array<[V1Deployment, RegExp]> = [
      [deployment(undefined, undefined), /no init container cx-pair-gate/],
      [deployment([migrate, good], [volume]), /not the first one/],
      [deployment([{ ...good, image: 'busybox:1.36.1' }], [volume]), /runs busybox:1\.36\.1, not busybox:1\.37\.0/],
      [
        deployment([{ ...good, command: gateCommand({ namespace: 'apps', name: 'queue' }) }], [volume]),
        /another command/,
      ],
      [deployment([{ ...good, args: ['x'] }], [volume]), /another command/],
      [
        deployment([{ ...good, volumeMounts: [{ name: 'cx-pair-gate', mountPath: '/gate' }] }], [volume]),
        /read-only at \/gate/,
      ],
      [deployment([good], [data]), /no volume cx-pair-gate/],
      [
        deployment([good], [{ name: 'cx-pair-gate', hostPath: { path: '/var/run/other', type: 'DirectoryOrCreate' } }]),
        /not the node's \/run\/cx-pair/,
      ],
      [deployment([good], [{ name: 'cx-pair-gate', emptyDir: {} }]), /not the node's/],
    ];
    for (const [d, expected] of cases) assert.match(gateProblem(d, db, gate) ?? 'in place', expected);
  });

  it('patches only the gate, first, against the Deployment as read', () => {
    const container = gateInitContainer(db, gate);
    const volume = gateVolume(gate);
    assert.deepEqual(gatePatch(deployment(undefined, undefined), db, gate), [
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/spec/template/spec/initContainers', value: [container] },
      { op: 'add', path: '/spec/template/spec/volumes', value: [volume] },
    ]);
    assert.deepEqual(
      gatePatch(
        deployment(
          [migrate, { ...container, image: 'busybox:1.36.1', name: GATE_CONTAINER }],
          [data, { name: 'cx-pair-gate', emptyDir: {} }],
        ),
        db,
        gate,
      ).slice(1),
      [
        { op: 'remove', path: '/spec/template/spec/initContainers/1' },
        { op: 'add', path: '/spec/template/spec/initContainers/0', value: container },
        { op: 'replace', path: '/spec/template/spec/volumes/1', value: volume },
      ],
    );
    assert.deepEqual(gatePatch(deployment([migrate], [data]), db, gate).slice(1), [
      { op: 'add', path: '/spec/template/spec/initContainers/0', value: container },
      { op: 'add', path: '/spec/template/spec/volumes/-', value: volume },
    ]);
  });
});
