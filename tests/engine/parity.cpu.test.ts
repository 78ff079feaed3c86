// PyTorch parity on the TF.js cpu backend: float32 everywhere, so the fixtures' own tolerance (1e-4) applies.
import { describe } from 'vitest';
import { defineParitySuite } from './helpers/paritySuite';

describe('parity with PyTorch on the cpu backend', () => {
  defineParitySuite({ backend: 'cpu', tolerance: (fixtureTolerance) => fixtureTolerance });
});
