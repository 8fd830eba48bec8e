import { describe, expect, it } from 'vitest';
import { roundToHundred, shiftWeights } from '../src/adapters/routing/weights.js';

describe('shiftWeights', () => {
  it('50/50, move 20 from us-west-2 to us-east-1 → 70/30', () => {
    expect(shiftWeights({ 'us-east-1': 50, 'us-west-2': 50 }, 'us-west-2', ['us-east-1'], 20)).toEqual({ 'us-east-1': 70, 'us-west-2': 30 });
  });

  it('50/50 −20 from a → 30/70', () => {
    expect(shiftWeights({ a: 50, b: 50 }, 'a', ['b'], 20)).toEqual({ a: 30, b: 70 });
  });

  it('a revert is the same call with from/to swapped: 70/30 → 50/50', () => {
    const shifted = shiftWeights({ east: 50, west: 50 }, 'west', ['east'], 20);
    expect(shiftWeights(shifted, 'east', ['west'], 20)).toEqual({ east: 50, west: 50 });
  });

  it('normalises raw weights to percent of the total (1/1 → 50/50 before the move)', () => {
    expect(shiftWeights({ a: 1, b: 1 }, 'a', ['b'], 20)).toEqual({ a: 30, b: 70 });
    expect(shiftWeights({ a: 200, b: 56 }, 'b', ['a'], 0)).toEqual({ a: 78, b: 22 }); // 78.125 / 21.875
  });

  it('95/5 canary −5 → 100/0 (the canary is drained)', () => {
    expect(shiftWeights({ primary: 95, canary: 5 }, 'canary', ['primary'], 5)).toEqual({ primary: 100, canary: 0 });
  });

  it('caps the move at what the source has: 10/90 −30 → 0/100', () => {
    expect(shiftWeights({ a: 10, b: 90 }, 'a', ['b'], 30)).toEqual({ a: 0, b: 100 });
    expect(shiftWeights({ a: 0, b: 100 }, 'a', ['b'], 30)).toEqual({ a: 0, b: 100 });
  });

  it('three stacks: 40/30/30, move 30 from a to b and c → 10/45/45', () => {
    expect(shiftWeights({ a: 40, b: 30, c: 30 }, 'a', ['b', 'c'], 30)).toEqual({ a: 10, b: 45, c: 45 });
  });

  it('three stacks, only one target: the bystander keeps its share', () => {
    expect(shiftWeights({ a: 50, b: 25, c: 25 }, 'a', ['c'], 20)).toEqual({ a: 30, b: 25, c: 45 });
  });

  it('three equal stacks: largest remainder keeps integers summing to 100', () => {
    // 33.33 each; a gives 10 → 23.33 / 38.33 / 38.33 → floors 23/38/38 (99), one point to the first tie.
    const w = shiftWeights({ a: 1, b: 1, c: 1 }, 'a', ['b', 'c'], 10);
    expect(w).toEqual({ a: 24, b: 38, c: 38 });
    expect(Object.values(w).reduce((x, y) => x + y, 0)).toBe(100);
  });

  it('odd split to two targets: 15 over two → 7.5 each, rounded to sum 100', () => {
    const w = shiftWeights({ a: 50, b: 25, c: 25 }, 'a', ['b', 'c'], 15);
    expect(w).toEqual({ a: 35, b: 33, c: 32 });
  });

  it('ignores the source among the targets and duplicate targets', () => {
    expect(shiftWeights({ a: 50, b: 50 }, 'a', ['a', 'b', 'b'], 20)).toEqual({ a: 30, b: 70 });
  });

  it('rejects unknown stacks, empty targets, bad percents and all-zero weights', () => {
    expect(() => shiftWeights({ a: 50, b: 50 }, 'x', ['b'], 20)).toThrow(/unknown source stack "x"/);
    expect(() => shiftWeights({ a: 50, b: 50 }, 'a', ['x'], 20)).toThrow(/unknown target stack "x"/);
    expect(() => shiftWeights({ a: 50, b: 50 }, 'a', [], 20)).toThrow(/no target/);
    expect(() => shiftWeights({ a: 50, b: 50 }, 'a', ['a'], 20)).toThrow(/no target/);
    expect(() => shiftWeights({ a: 50, b: 50 }, 'a', ['b'], -1)).toThrow(/percent/);
    expect(() => shiftWeights({ a: 50, b: 50 }, 'a', ['b'], Number.NaN)).toThrow(/percent/);
    expect(() => shiftWeights({ a: 0, b: 0 }, 'a', ['b'], 20)).toThrow(/all weights are 0/);
    expect(() => shiftWeights({ a: -1, b: 50 }, 'a', ['b'], 20)).toThrow(/weight of "a"/);
  });

  it('always returns integers in 0..100 summing to 100 (sweep)', () => {
    for (let a = 0; a <= 100; a += 7) {
      for (let p = 0; p <= 110; p += 13) {
        const w = shiftWeights({ a, b: 100 - a + 1, c: 3 }, 'a', ['b', 'c'], p);
        const vals = Object.values(w);
        expect(vals.every((v) => Number.isInteger(v) && v >= 0 && v <= 100)).toBe(true);
        expect(vals.reduce((x, y) => x + y, 0)).toBe(100);
      }
    }
  });
});

describe('roundToHundred', () => {
  it('snaps float noise instead of flooring it away', () => {
    expect(roundToHundred({ a: 69.99999999999, b: 30.00000000001 })).toEqual({ a: 70, b: 30 });
  });
});
