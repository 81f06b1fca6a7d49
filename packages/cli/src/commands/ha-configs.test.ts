import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../exit-codes.js';
import { addonSettings } from './addons.js';
import { defaultHaConfigName, haConfigRequest } from './ha-configs.js';

describe("ha-config flags (seed 001's syntax)", () => {
  it('maps each flag onto its field of the API body, leaving what was not given to the server', () => {
    assert.deepEqual(
      haConfigRequest('c1', 'ha-amzn', {
        cluster: 'demo',
        virtualIps: '54.192.0.42-43, 10.1.1.5',
        selector: 'ha-router=amzn-us-west,zone=a',
        watchPort: 80,
        interface: 'ens3',
        unicast: true,
      }),
      {
        clusterId: 'c1',
        name: 'ha-amzn',
        virtualIps: '54.192.0.42-43,10.1.1.5',
        selector: { 'ha-router': 'amzn-us-west', zone: 'a' },
        watchPort: 80,
        interface: 'ens3',
        unicast: true,
      },
    );
    assert.deepEqual(
      haConfigRequest('c1', 'x', { cluster: 'demo', virtualIps: '10.0.0.1', preempt: false, unicast: false }),
      {
        clusterId: 'c1',
        name: 'x',
        virtualIps: '10.0.0.1',
        unicast: false,
        preempt: false,
      },
    );
  });

  it('takes an empty selector for every node, as the API does', () => {
    assert.deepEqual(haConfigRequest('c1', 'x', { cluster: 'd', virtualIps: '10.0.0.1', selector: '' }).selector, {});
  });

  it('refuses a selector that is not key=value', () => {
    assert.throws(
      () => haConfigRequest('c1', 'x', { cluster: 'd', virtualIps: '10.0.0.1', selector: 'jack' }),
      CliError,
    );
  });

  it('names an unnamed ha-config ha-config-N, the lowest N the cluster does not use', () => {
    assert.equal(defaultHaConfigName([]), 'ha-config-1');
    assert.equal(defaultHaConfigName(['ha-config-1', 'ha-config-3', 'web']), 'ha-config-2');
  });
});

describe('addon settings (--set, --values)', () => {
  it('reads --set values as YAML over the file, and none as no settings', () => {
    assert.deepEqual(addonSettings(['replicas=2', 'debug=true', "name='007'", 'empty='], { replicas: 1, keep: 'x' }), {
      replicas: 2,
      keep: 'x',
      debug: true,
      name: '007',
      empty: '',
    });
    assert.equal(addonSettings([]), undefined);
    assert.throws(() => addonSettings(['novalue']), /--set novalue: expected KEY=VALUE/);
  });
});
