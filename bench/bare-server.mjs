// Baseline of the API benchmark: a bare fastify route answering fixed bytes, no auth, no SQL.
import Fastify from 'fastify';

const [port, body] = [Number(process.argv[2]), process.env.BENCH_BODY ?? '{}'];
const app = Fastify();
app.get('/api/v1/clusters', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
await app.listen({ host: '127.0.0.1', port });
process.stdout.write('ready\n');
