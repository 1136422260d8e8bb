import { expect } from 'chai';
import { Fifo } from '../../lib/promise/fifo';

describe('promise API: Fifo (the consume iterators buffer)', () => {
  it('takes in order, across compactions, and hands out the rest at once', () => {
    const q = new Fifo<number>();
    expect(q.shift()).to.equal(undefined);
    for (let i = 0; i < 5000; i++) q.push(i);
    const taken: number[] = [];
    for (let i = 0; i < 3000; i++) taken.push(q.shift()!);
    expect(taken.every((v, i) => v === i)).to.equal(true);
    expect(q.length).to.equal(2000);
    expect([q.peek(), q.at(0), q.at(1999), q.at(2000)]).to.deep.equal([3000, 3000, 4999, undefined]);
    q.push(5000);
    const rest = q.takeAll();
    expect(rest).to.have.length(2001);
    expect([rest[0], rest[2000]]).to.deep.equal([3000, 5000]);
    expect(q.length).to.equal(0);
    q.push(7);
    q.clear();
    expect(q.shift()).to.equal(undefined);
    expect(q.peek()).to.equal(undefined);
  });
});
