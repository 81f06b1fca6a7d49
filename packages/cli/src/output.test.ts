import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { EXIT, type CliError } from './exit-codes.js';
import {
  colourStatus,
  parseOutput,
  renderJson,
  renderJsonpath,
  renderTable,
  renderYaml,
  useColour,
  type Column,
} from './output.js';

const clusters = {
  items: [
    { name: 'demo', status: 'Ready', nodePools: [{ name: 'workers', count: 2 }] },
    { name: 'web-long-name', status: 'Failed', nodePools: [] },
  ],
};
type Row = (typeof clusters.items)[number];
const columns: Column<Row>[] = [
  { header: 'NAME', value: (c) => c.name },
  { header: 'STATUS', value: (c) => c.status, status: true },
  { header: 'POOLS', value: (c) => c.nodePools.length },
  { header: 'NOTE', value: () => null, wide: true },
];

describe('output formats', () => {
  it('parses -o and refuses unknown formats as usage errors', () => {
    assert.deepEqual(parseOutput(undefined), { kind: 'table' });
    assert.deepEqual(parseOutput('jsonpath={.name}'), { kind: 'jsonpath', template: '{.name}' });
    assert.throws(
      () => parseOutput('xml'),
      (e: CliError) => e.exitCode === EXIT.usage,
    );
    assert.throws(() => parseOutput('jsonpath='), /needs a template/);
  });

  it('aligns a table on its widest cell, kubectl style, wide columns only with -o wide', () => {
    assert.equal(
      renderTable(clusters.items, columns),
      'NAME            STATUS   POOLS\n' + 'demo            Ready    1\n' + 'web-long-name   Failed   0\n',
    );
    assert.equal(
      renderTable(clusters.items, columns, { wide: true }).split('\n')[1],
      'demo            Ready    1       <none>',
    );
  });

  it('colours status words without breaking the alignment', () => {
    const coloured = renderTable(clusters.items, columns, { colour: true });
    // eslint-disable-next-line no-control-regex
    const plain = coloured.replace(/\u001b\[[0-9;]*m/g, '');
    assert.equal(plain, renderTable(clusters.items, columns));
    assert.ok(coloured.includes(colourStatus('Ready')));
    assert.ok(coloured.includes('\u001b[31mFailed\u001b[39m'));
  });

  it('colours only on a TTY, never with NO_COLOR or TERM=dumb', () => {
    assert.equal(useColour({ isTTY: true }, {}), true);
    assert.equal(useColour({ isTTY: false }, {}), false);
    assert.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(useColour({ isTTY: true }, { TERM: 'dumb' }), false);
    assert.equal(useColour({ isTTY: false }, { FORCE_COLOR: '1' }), true);
  });

  it('prints JSON and YAML that read back as the same value', () => {
    assert.deepEqual(JSON.parse(renderJson(clusters)), clusters);
    assert.deepEqual(parse(renderYaml(clusters)), clusters);
  });

  it('evaluates kubectl jsonpath templates with jsonpath-plus', () => {
    assert.equal(renderJsonpath('{.items[*].name}', clusters), 'demo web-long-name');
    assert.equal(renderJsonpath('{.items[0].nodePools[0].count}', clusters), '2');
    assert.equal(
      renderJsonpath('{range .items[*]}{.name}{"\\t"}{.status}{"\\n"}{end}', clusters),
      'demo\tReady\nweb-long-name\tFailed\n',
    );
    assert.equal(renderJsonpath('{.items[?(@.status=="Failed")].name}', clusters), 'web-long-name');
    assert.equal(renderJsonpath('name: {$.items[0].name}', clusters), 'name: demo');
    assert.equal(renderJsonpath('{range .items[*]}{range .nodePools[*]}{.name}{end}{end}', clusters), 'workers');
    assert.equal(renderJsonpath('{.items[0].nodePools[0]}', clusters), '{"name":"workers","count":2}');
    assert.throws(() => renderJsonpath('{range .items[*]}{.name}', clusters), /without \{end\}/);
    assert.throws(() => renderJsonpath('{.name', clusters), /unclosed/);
    assert.throws(() => renderJsonpath('{.name}{end}', clusters), /without \{range\}/);
  });
});
