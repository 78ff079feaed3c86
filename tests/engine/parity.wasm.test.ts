// PyTorch parity on the TF.js wasm backend (XNNPACK), the backend automatic selection picks on machines whose GPU
// is emulated in software. Its kernels sum in a different order than PyTorch; the fixtures' 1e-4 still holds.
import { describe } from 'vitest';
import { defineParitySuite } from './helpers/paritySuite';

describe('parity with PyTorch on the wasm backend', () => {
  defineParitySuite({ backend: 'wasm', tolerance: (fixtureTolerance) => fixtureTolerance });
});
