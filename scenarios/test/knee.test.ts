import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findKnee } from '../lib/knee.ts';

const curve = (pairs: [number, number][]) => pairs.map(([x, y]) => ({ x, y }));

describe('knee finder', () => {
  it('finds the last load before latency climbs on a hockey-stick curve', () => {
    const points = curve([[1000, 5], [2000, 5.5], [3000, 6], [4000, 7], [5000, 150], [6000, 300]]);
    assert.equal(findKnee(points), 3);
  });

  it('finds the knee of an exponential curve where the max-curvature point is', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ x: i, y: Math.exp(i) }));
    const knee = findKnee(points);
    assert.ok(knee !== null && knee >= 6 && knee <= 8, `knee at ${knee}`);
  });

  it('finds no knee on a straight line, whose latency grows evenly with load', () => {
    assert.equal(findKnee(curve([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]])), null);
  });

  it('finds no knee on a flat curve with noise, nor on a falling one', () => {
    assert.equal(findKnee(curve([[1, 5], [2, 5.2], [3, 4.9], [4, 5.1], [5, 5]])), null);
    assert.equal(findKnee(curve([[1, 50], [2, 20], [3, 10], [4, 5]])), null);
  });

  it('finds no knee on a concave curve, which rises first and flattens', () => {
    assert.equal(findKnee(curve([[1, 0], [2, 30], [3, 45], [4, 50], [5, 52]])), null);
  });

  it('needs three points, and reports the index in the order given even when the points are unsorted', () => {
    assert.equal(findKnee(curve([[1, 5], [2, 100]])), null);
    const shuffled = curve([[6000, 300], [1000, 5], [4000, 7], [2000, 5.5], [5000, 150], [3000, 6]]);
    assert.equal(findKnee(shuffled), 2);
  });
});
