/**
 * Step transitions reach sm several at a time: the calls made while the event loop runs one turn
 * (many jobs' steps finish at once under load) go together, and while a few batches are on their
 * way the next calls wait for one of them to answer, so that a busy wfm sends fewer, fuller
 * batches and sm commits each in one transaction. Between processes a batch is one HTTP request;
 * in the all-in-one it is one call of sm's module (StepTransitionsInProcess).
 */
import { fromProblem } from '@cx/errors';
import {
  TRANSITIONS_PER_REQUEST,
  type StepTransitionAnswer,
  type StepTransitionCall,
  type StepTransitionOutcome,
  type StepTransitionsInProcess,
} from './runs.js';

/** Batches on their way at once; more calls wait and go together in the next one. */
const BATCHES_IN_FLIGHT = 4;
/** A request is closed at about this size; a larger call goes alone (sm takes bodies up to 4 MiB). */
const REQUEST_BYTES = 1_048_576;

/** How a batch travels: each call encoded once as it is made, then the batch sent. */
interface Carrier<Encoded> {
  encode(call: StepTransitionCall): Encoded;
  /** The encoded call's share of the batch's size limit. */
  bytes(encoded: Encoded): number;
  send(batch: Encoded[]): Promise<StepTransitionOutcome[]>;
}

interface Queued<Encoded> {
  encoded: Encoded;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

export class TransitionBatcher<Encoded = unknown> {
  private queue: Queued<Encoded>[] = [];
  private inFlight = 0;
  private scheduled = false;

  private constructor(private readonly carrier: Carrier<Encoded>) {}

  /**
   * Batches as requests: `post` sends a request's body, `{"calls":[…]}` already serialised, and
   * answers its answers (a problem becomes its cx error).
   */
  static overHttp(post: (body: string) => Promise<StepTransitionAnswer[]>): TransitionBatcher<string> {
    return new TransitionBatcher<string>({
      encode: (call) => JSON.stringify(call),
      bytes: (json) => json.length,
      send: async (batch) =>
        (await post(`{"calls":[${batch.join(',')}]}`)).map((answer) =>
          'problem' in answer ? { error: fromProblem(answer.problem, answer.problem.status) } : answer,
        ),
    });
  }

  /** Batches as calls of sm's module in this process. */
  static inProcess(transitions: StepTransitionsInProcess): TransitionBatcher<StepTransitionCall> {
    return new TransitionBatcher<StepTransitionCall>({ encode: (call) => call, bytes: () => 0, send: transitions });
  }

  /** Sends `call` with the others of this turn; answers its result or throws the error that refused it. */
  call<T>(call: StepTransitionCall): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ encoded: this.carrier.encode(call), resolve: resolve as (result: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= BATCHES_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.inFlight < BATCHES_IN_FLIGHT) void this.send(this.take());
    });
  }

  /** The next batch's calls: in order, up to TRANSITIONS_PER_REQUEST and REQUEST_BYTES (at least one). */
  private take(): Queued<Encoded>[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < TRANSITIONS_PER_REQUEST) {
      bytes += this.carrier.bytes(this.queue[count]!.encoded);
      if (count > 0 && bytes > REQUEST_BYTES) break;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async send(calls: Queued<Encoded>[]): Promise<void> {
    this.inFlight += 1;
    try {
      const outcomes = await this.carrier.send(calls.map((queued) => queued.encoded));
      if (outcomes.length !== calls.length)
        throw new Error(`sm answered ${outcomes.length} step transitions for ${calls.length} calls`);
      calls.forEach((queued, index) => {
        const outcome = outcomes[index]!;
        if ('error' in outcome) queued.reject(outcome.error);
        else queued.resolve(outcome.result);
      });
    } catch (error) {
      for (const queued of calls) queued.reject(error);
    } finally {
      this.inFlight -= 1;
      this.schedule();
    }
  }
}
