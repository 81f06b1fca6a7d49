/**
 * sm for callers in the same process (the all-in-one's wfm and sddc). The engine's step
 * transitions go to sm's module, a batch at a time, as over HTTP but without loopback and JSON;
 * so do the calls every public request makes (direct-calls.ts). Every other call goes through
 * sm's HTTP app with fastify's inject, so its routes, validation, authentication and answers are
 * those of a call over loopback, without a socket or HTTP parsing on either side.
 */
import type { SmAnswer, SmCall, SmInProcess } from '@cx/sm-contract';
import type { SmApp } from './app.js';

export function smInProcess({ app, runs, calls }: SmApp): Required<SmInProcess> {
  return {
    transitions: (batch) => runs.transitions(batch, app.log),
    calls,
    dispatch: async (call: SmCall): Promise<SmAnswer> => {
      const response = await app.inject({
        method: call.method,
        url: call.path,
        headers: call.headers,
        ...(call.body === undefined ? {} : { payload: call.body }),
      });
      const headers: SmAnswer['headers'] = {};
      for (const [name, value] of Object.entries(response.headers))
        headers[name] = typeof value === 'number' ? String(value) : value;
      return { status: response.statusCode, headers, body: response.rawPayload };
    },
  };
}
