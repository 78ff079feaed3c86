import { describe, expect, it } from 'vitest';
import { lnDeterministic, sampleKey, sinCos2Pi, standardNormal, standardNormalBatch } from '../../src/engine/noise';

describe('deterministic math', () => {
  it('lnDeterministic matches Math.log to a few ulps over (0, 1]', () => {
    let worst = 0;
    for (let k = 0; k < 20000; k++) {
      const u = (((k * 2654435761) % 4294967296) + 0.5) / 4294967296;
      worst = Math.max(worst, Math.abs(lnDeterministic(u) - Math.log(u)) / Math.max(1e-300, Math.abs(Math.log(u))));
    }
    expect(lnDeterministic(1)).toBe(0);
    expect(worst).toBeLessThan(1e-15);
    expect(() => lnDeterministic(0)).toThrow(RangeError);
  });

  it('sinCos2Pi matches Math.sin/Math.cos to 1e-15 in every quadrant', () => {
    let worst = 0;
    for (let k = 0; k < 20000; k++) {
      const u = ((k * 2246822519) % 4294967296) / 4294967296;
      const [s, c] = sinCos2Pi(u);
      worst = Math.max(worst, Math.abs(s - Math.sin(2 * Math.PI * u)), Math.abs(c - Math.cos(2 * Math.PI * u)));
    }
    expect(worst).toBeLessThan(1e-15);
    expect(sinCos2Pi(0)).toEqual([0, 1]);
    expect(sinCos2Pi(0.25)[0]).toBe(1);
  });
});

describe('seeded standard-normal noise', () => {
  it('is a pure function of (seed, stream, index)', () => {
    expect(standardNormal(42, 'sp', 3, 128)).toEqual(standardNormal(42, 'sp', 3, 128));
    expect(standardNormal(42, 'sp', 3, 16)).not.toEqual(standardNormal(43, 'sp', 3, 16));
    expect(standardNormal(42, 'sp', 3, 16)).not.toEqual(standardNormal(42, 'sp', 4, 16));
    expect(standardNormal(42, 'sp', 3, 16)).not.toEqual(standardNormal(42, 'lag', 3, 16));
  });

  it('keeps its derivation: golden values that permalinks depend on', () => {
    // If this fails, the noise derivation changed and every shared link would show different images.
    expect(sampleKey(0, 'sp', 0)).toBe(GOLDEN.key);
    expect(Array.from(standardNormal(1, 'sp', 0, 4))).toEqual(GOLDEN.sp);
    expect(Array.from(standardNormal(2024, 'lag', 7, 3))).toEqual(GOLDEN.lag);
  });

  it('does not depend on how many samples or values are requested', () => {
    const batch = standardNormalBatch(7, 'sp', [0, 1, 2, 3, 4, 5, 6, 7], 128);
    for (let i = 0; i < 8; i++) {
      expect(batch.subarray(i * 128, (i + 1) * 128)).toEqual(standardNormal(7, 'sp', i, 128));
    }
    // A shorter request is a prefix of a longer one (odd lengths included).
    expect(standardNormal(7, 'lag', 2, 33)).toEqual(standardNormal(7, 'lag', 2, 200).subarray(0, 33));
    expect(standardNormalBatch(7, 'sp', [5], 128)).toEqual(batch.subarray(5 * 128, 6 * 128));
  });

  it('has standard-normal moments and no correlation between neighbours or samples', () => {
    const n = 200_000;
    const values = standardNormalBatch(
      12345,
      'lag',
      Array.from({ length: 100 }, (_, i) => i),
      n / 100,
    );
    let sum = 0;
    let sumSq = 0;
    let sumCube = 0;
    let sumFourth = 0;
    let lagProduct = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      sum += v;
      sumSq += v * v;
      sumCube += v ** 3;
      sumFourth += v ** 4;
      if (i > 0) lagProduct += v * values[i - 1];
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSq / n - mean * mean);
    // Standard errors at n = 2e5: mean 0.0022, std 0.0016, skew 0.0055, kurtosis 0.011, correlation 0.0022.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
    expect(Math.abs(sumCube / n)).toBeLessThan(0.03);
    expect(Math.abs(sumFourth / n - 3)).toBeLessThan(0.06);
    expect(Math.abs(lagProduct / (n - 1))).toBeLessThan(0.01);
    // Tails: P(|z| > 3) = 0.0027.
    const beyond3 = values.filter((v) => Math.abs(v) > 3).length / n;
    expect(beyond3).toBeGreaterThan(0.0027 - 0.0006);
    expect(beyond3).toBeLessThan(0.0027 + 0.0006);
    // Neighbouring sample indices are uncorrelated (the seed mixing is not a simple offset).
    const a = standardNormal(1, 'sp', 0, 20000);
    const b = standardNormal(1, 'sp', 1, 20000);
    let cross = 0;
    for (let i = 0; i < a.length; i++) cross += a[i] * b[i];
    expect(Math.abs(cross / a.length)).toBeLessThan(0.03);
  });
});

const GOLDEN = {
  key: 2587561264,
  sp: [-0.45985478162765503, 1.3833023309707642, 1.1987473964691162, -0.9022426605224609],
  lag: [1.7283275127410889, -0.8518586158752441, -0.988115668296814],
};
