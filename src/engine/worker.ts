// The engine's Web Worker entry (a module worker): `new Worker(new URL('./engine/worker.ts', import.meta.url),
// { type: 'module' })`. It speaks the messages of protocol.ts; see workerHost.ts for ordering and cancellation.
import { claimUncaughtWasmThreadError } from './wasmBackend';
import { describeError } from './errors';
import type { FromWorker, ToWorker } from './protocol';
import { WorkerHost } from './workerHost';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);
const host = new WorkerHost(post);

scope.addEventListener('message', (event: MessageEvent<ToWorker>) => {
  void host.receive(event.data);
});

// Anything that escapes the host (it should not) is still reported rather than silently lost.
// Errors of the WASM backend's helper threads while they start are handled there (fallback to one thread).
scope.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  if (claimUncaughtWasmThreadError(describeError(event.reason))) return;
  post({ type: 'error', code: 'internal', message: describeError(event.reason) });
});
scope.addEventListener('error', (event) => {
  event.preventDefault();
  if (claimUncaughtWasmThreadError(event.message ?? '', event.filename)) return;
  post({ type: 'error', code: 'internal', message: event.message || 'uncaught error in the engine worker' });
});
