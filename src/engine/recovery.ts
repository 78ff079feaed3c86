// Backend-loss recovery for the engine: which backend runs, which were lost, and the switch to the next one. A lost
// WebGPU device or WebGL context is announced late (often after the step that hit it failed), so a failed step asks
// the backend whether it was lost before the error counts, and a step still waiting when the loss is announced is
// abandoned (a read on a lost WebGL context never settles).
import {
  AUTO_ORDER,
  activateBackend,
  backendLossReason,
  releaseBackend,
  type BackendInfo,
  type WasmOptions,
} from './backend';
import { EngineError } from './errors';
import type { BackendName, BackendRequest } from './protocol';

/** Retries of one step after backend losses: at most one per backend that can be switched away from. */
const MAX_RECOVERIES = AUTO_ORDER.length - 1;
/** How long a failure on WebGPU waits for `device.lost` before it counts as a real error. */
const LOSS_ANNOUNCE_WAIT_MS = 2000;

export interface RecoveryHooks {
  /** The lost backend's tensors are unusable: drop them before the switch. */
  beforeSwitch(): void;
  /** The next backend runs: upload what the steps need, then tell the user. */
  afterSwitch(info: BackendInfo, reason: string): void;
}

export class BackendRecovery {
  private info: BackendInfo | null = null;
  private request: BackendRequest = 'auto';
  private wasmOptions: WasmOptions = {};
  private readonly lostBackends = new Set<BackendName>();
  private switching: Promise<void> | null = null;
  /** Steps in flight, abandoned when their backend is announced lost. */
  private readonly onLoss = new Set<() => void>();

  constructor(private readonly hooks: RecoveryHooks) {}

  get backend(): BackendInfo | null {
    return this.info;
  }

  async init(request: BackendRequest, wasm: WasmOptions = this.wasmOptions): Promise<BackendInfo> {
    this.request = request;
    this.wasmOptions = wasm;
    this.info = await activateBackend(request, {
      exclude: this.lostBackends,
      wasm,
      onLost: (backend, reason) => this.handleLoss(backend, reason),
    });
    return this.info;
  }

  /** Switches to the next backend after a loss; requests wait for it. A second announcement of the same loss is ignored. */
  handleLoss(lost: BackendName, reason: string): void {
    if (this.info?.backend !== lost || this.switching) return;
    this.lostBackends.add(lost);
    for (const abandon of this.onLoss) abandon();
    this.switching = (async () => {
      this.hooks.beforeSwitch();
      await this.init(this.request);
      releaseBackend(lost);
      this.hooks.afterSwitch(this.info!, reason);
    })().finally(() => {
      this.switching = null;
    });
  }

  /** Waits for a switch under way, or starts the requested backend if none runs yet. */
  async ready(): Promise<void> {
    if (this.switching) await this.switching;
    if (!this.info) await this.init(this.request);
  }

  /**
   * Runs `work`; if the backend it ran on was lost meanwhile, waits for the switch and runs it again. Each loss
   * excludes a backend, and the retries are capped as well, so this never loops; any other error is rethrown.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.ready();
      const backend = this.info!.backend;
      let result: T;
      try {
        result = await this.unlessLost(work());
      } catch (error) {
        if (error instanceof EngineError || attempt >= MAX_RECOVERIES) throw error;
        if (!(await this.wasLost(backend, LOSS_ANNOUNCE_WAIT_MS))) throw error;
        continue;
      }
      // A read-back from a lost WebGL context can "succeed" with zeros: only results of a live backend count.
      if (backend === 'webgl' && attempt < MAX_RECOVERIES && (await this.wasLost(backend, 0))) continue;
      return result;
    }
  }

  /** Settles like `step`, or rejects as soon as the running backend is announced lost. */
  private unlessLost<T>(step: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const abandon = () => reject(new Error('the backend was lost during this step'));
      this.onLoss.add(abandon);
      step.then(resolve, reject).finally(() => this.onLoss.delete(abandon));
    });
  }

  /** True if `backend` has been lost (asking it, up to `waitMs`); the switch to the next backend is then under way. */
  private async wasLost(backend: BackendName, waitMs: number): Promise<boolean> {
    if (this.switching || this.info?.backend !== backend) return true; // already announced and handled
    const reason = await backendLossReason(backend, waitMs);
    if (reason !== null) this.handleLoss(backend, reason);
    return this.switching !== null || this.info?.backend !== backend;
  }
}
