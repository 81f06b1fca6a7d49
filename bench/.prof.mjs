import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { PASSWORD, listAll, pool, startCx } from './lib.mjs';
const redisUrl = execFileSync('bash', ['test/peers/redis.sh', 'start'], { encoding: 'utf8' }).trim();
const cx = await startCx({ env: { CX_SIM_LATENCY_MS: '0', CX_REDIS_URL: redisUrl, CX_REDIS_PREFIX: 'prof' + Date.now() }, nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] });
const { token } = await (await fetch(`${cx.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })).json();
cx.token = token;
const names = Array.from({ length: 250 }, (_, i) => `p-${i}`);
await pool(names, 16, async (name) => {
  const r = await fetch(`${cx.base}/api/v1/clusters`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, provider: 'sim', kubernetesVersion: '1.31.4', controlPlane: { count: 1 }, nodePools: [{ name: 'w', count: 2 }] }) });
  if (r.status !== 202) throw new Error(await r.text());
});
for (;;) { const c = await listAll(cx); if (c.length === 250 && c.every((x) => x.status === 'Ready')) break; await sleep(250); }
await cx.stop();
