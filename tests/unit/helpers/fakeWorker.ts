import type { FromWorker, ToWorker } from '../../../src/engine/protocol';
import type { WorkerLike } from '../../../src/state/engineClient';

/** A Worker double: records what the client posts and lets the test reply or crash it. */
export class FakeWorker implements WorkerLike {
  readonly posted: ToWorker[] = [];
  terminated = false;
  onmessage: WorkerLike['onmessage'] = null;
  onerror: WorkerLike['onerror'] = null;
  onmessageerror: WorkerLike['onmessageerror'] = null;

  postMessage(message: ToWorker): void {
    this.posted.push(message);
  }
  terminate(): void {
    this.terminated = true;
  }
  reply(message: FromWorker): void {
    this.onmessage?.({ data: message } as MessageEvent<FromWorker>);
  }
  crash(message = 'boom'): void {
    this.onerror?.({ message, preventDefault() {} } as ErrorEvent);
  }
  last<T extends ToWorker['type']>(type: T): Extract<ToWorker, { type: T }> {
    const found = [...this.posted].reverse().find((m) => m.type === type);
    if (!found) throw new Error(`nothing of type ${type} was posted`);
    return found as Extract<ToWorker, { type: T }>;
  }
  all<T extends ToWorker['type']>(type: T): Extract<ToWorker, { type: T }>[] {
    return this.posted.filter((m) => m.type === type) as Extract<ToWorker, { type: T }>[];
  }
}

export const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
