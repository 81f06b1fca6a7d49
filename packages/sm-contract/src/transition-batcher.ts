/**
 * Step transitions from a wfm in a process of its own reach sm several to a request: the calls
 * made while the event loop runs one turn (many jobs' steps finish at once under load) go out
 * together, and while a few requests are on their way the next calls wait for one of them to
 * answer, so that a busy wfm sends fewer, fuller requests and sm commits them in one transaction.
 */
import { fromProblem } from '@cx/errors';
import { TRANSITIONS_PER_REQUEST, type StepTransitionAnswer, type StepTransitionCall } from './runs.js';

/** Requests on their way at once; more calls wait and go together in the next one. */
const REQUESTS_IN_FLIGHT = 4;
/** A request is closed at about this size; a larger call goes alone (sm takes bodies up to 4 MiB). */
const REQUEST_BYTES = 1_048_576;

interface Queued {
  json: string;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

export class TransitionBatcher {
  private queue: Queued[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `post` sends a request's body, `{"calls":[…]}` already serialised, and answers its answers. */
  constructor(private readonly post: (body: string) => Promise<StepTransitionAnswer[]>) {}

  /** Sends `call` with the others of this turn; answers its result or throws the cx error of its problem. */
  call<T>(call: StepTransitionCall): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ json: JSON.stringify(call), resolve: resolve as (result: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= REQUESTS_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.inFlight < REQUESTS_IN_FLIGHT) void this.send(this.take());
    });
  }

  /** The next request's calls: in order, up to TRANSITIONS_PER_REQUEST and REQUEST_BYTES (at least one). */
  private take(): Queued[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < TRANSITIONS_PER_REQUEST) {
      bytes += this.queue[count]!.json.length;
      if (count > 0 && bytes > REQUEST_BYTES) break;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async send(calls: Queued[]): Promise<void> {
    this.inFlight += 1;
    try {
      const answers = await this.post(`{"calls":[${calls.map((queued) => queued.json).join(',')}]}`);
      if (answers.length !== calls.length)
        throw new Error(`sm answered ${answers.length} step transitions for ${calls.length} calls`);
      calls.forEach((queued, index) => {
        const answer = answers[index]!;
        if ('problem' in answer) queued.reject(fromProblem(answer.problem, answer.problem.status));
        else queued.resolve(answer.result);
      });
    } catch (error) {
      for (const queued of calls) queued.reject(error);
    } finally {
      this.inFlight -= 1;
      this.schedule();
    }
  }
}
