import { expect } from 'chai';
import { RetainedPublishes } from '../../lib/engine/retained-publishes';

function publish(
  seq: number,
  size = 3,
): { seq: number; exchange: string; routingKey: string; mandatory: boolean; properties: undefined; body: Buffer } {
  return { seq, exchange: '', routingKey: 'q', mandatory: false, properties: undefined, body: Buffer.alloc(size) };
}

describe('RetainedPublishes', () => {
  it('keeps publishes until answered, one or a range at a time, and counts their bytes', () => {
    const r = new RetainedPublishes();
    for (let seq = 1; seq <= 6; seq++) r.retain(publish(seq, seq));
    expect([r.size, r.bodyBytes]).to.deep.equal([6, 21]);
    r.answered(4, 4);
    r.answered(1, 2);
    expect(r.below(100).map((p) => p.seq)).to.deep.equal([3, 5, 6]);
    expect(r.bodyBytes).to.equal(3 + 5 + 6);
    r.answered(1, 5); // a multiple ack over already-answered tags
    expect(r.below(100).map((p) => p.seq)).to.deep.equal([6]);
  });

  it('lists only those numbered below a bound, in order', () => {
    const r = new RetainedPublishes();
    for (const seq of [2, 3, 7, 9]) r.retain(publish(seq));
    expect(r.below(8).map((p) => p.seq)).to.deep.equal([2, 3, 7]);
    r.clear();
    expect([r.size, r.bodyBytes]).to.deep.equal([0, 0]);
  });
});
