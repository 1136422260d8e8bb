/**
 * ChannelNumbers: the lowest free channel number within channelMax, or the
 * one asked for; numbers are reused after release, and a number the broker
 * closed (draining) only when no other is free.
 */
import { expect } from 'chai';
import { ChannelNumbers } from '../../lib/engine/channel-numbers';
import { InvalidArgumentError, NoFreeChannelsError } from '../../lib/errors';

/** Allocates `n` numbers. */
function allocateMany(numbers: ChannelNumbers, n: number): number[] {
  return Array.from({ length: n }, () => numbers.allocate());
}

describe('ChannelNumbers', () => {
  it('hands out 1, 2, 3... and keeps the negotiated max', () => {
    const numbers = new ChannelNumbers(5);
    expect(numbers.max).to.equal(5);
    expect(allocateMany(numbers, 3)).to.deep.equal([1, 2, 3]);
  });

  it('throws NoFreeChannelsError, naming channelMax, once every number is in use', () => {
    const numbers = new ChannelNumbers(3);
    allocateMany(numbers, 3);
    expect(() => numbers.allocate()).to.throw(NoFreeChannelsError, 'all 3 channel numbers (the negotiated channelMax) are in use');
  });

  it('reuses the lowest released number first', () => {
    const numbers = new ChannelNumbers(10);
    allocateMany(numbers, 5);
    numbers.release(4);
    numbers.release(2);
    expect(allocateMany(numbers, 3)).to.deep.equal([2, 4, 6]);
  });

  it('a released number is free again at the top of the range', () => {
    const numbers = new ChannelNumbers(2);
    allocateMany(numbers, 2);
    numbers.release(2);
    expect(numbers.allocate()).to.equal(2);
    expect(() => numbers.allocate()).to.throw(NoFreeChannelsError);
  });

  it('releasing a number that was not in use changes nothing', () => {
    const numbers = new ChannelNumbers(3);
    expect(numbers.allocate()).to.equal(1);
    numbers.release(3);
    expect(allocateMany(numbers, 2)).to.deep.equal([2, 3]);
  });

  describe('a number asked for', () => {
    it('is reserved, and the lowest-free search skips it', () => {
      const numbers = new ChannelNumbers(10);
      expect(numbers.allocate(2)).to.equal(2);
      expect(allocateMany(numbers, 2)).to.deep.equal([1, 3]);
    });

    it('may be the highest number, channelMax itself', () => {
      expect(new ChannelNumbers(7).allocate(7)).to.equal(7);
    });

    for (const bad of [0, -1, 11, 1.5, NaN, Infinity]) {
      it(`rejects ${bad}: an integer from 1 to channelMax is needed`, () => {
        const numbers = new ChannelNumbers(10);
        expect(() => numbers.allocate(bad)).to.throw(InvalidArgumentError, `channelNumber must be an integer from 1 to 10 (channelMax), got ${bad}`);
        expect(numbers.allocate(), 'nothing was reserved').to.equal(1);
      });
    }

    it('rejects a number in use', () => {
      const numbers = new ChannelNumbers(10);
      numbers.allocate(4);
      expect(() => numbers.allocate(4)).to.throw(InvalidArgumentError, 'channelNumber 4 is already in use');
    });

    it('can be a number freed before', () => {
      const numbers = new ChannelNumbers(10);
      numbers.allocate(4);
      numbers.release(4);
      expect(numbers.allocate(4)).to.equal(4);
    });
  });

  describe('draining numbers (released after a broker close)', () => {
    it('are draining until handed out again', () => {
      const numbers = new ChannelNumbers(10);
      allocateMany(numbers, 2);
      expect(numbers.isDraining(1)).to.equal(false);
      numbers.release(1, true);
      expect(numbers.isDraining(1)).to.equal(true);
      expect(numbers.isDraining(2), 'a number in use is not draining').to.equal(false);
      numbers.release(2);
      expect(numbers.isDraining(2), 'a number released after our own close is not draining').to.equal(false);
    });

    it('are handed out last, oldest first, once no other number is free', () => {
      const numbers = new ChannelNumbers(4);
      allocateMany(numbers, 4);
      numbers.release(3, true);
      numbers.release(1, true);
      numbers.release(4);
      expect(numbers.allocate(), 'a free number first, even a higher one').to.equal(4);
      expect(numbers.allocate(), 'then the oldest draining number').to.equal(3);
      expect(numbers.isDraining(3)).to.equal(false);
      expect(numbers.isDraining(1)).to.equal(true);
      expect(numbers.allocate()).to.equal(1);
      expect(() => numbers.allocate()).to.throw(NoFreeChannelsError);
    });

    it('asking for a draining number takes it out of draining', () => {
      const numbers = new ChannelNumbers(4);
      numbers.allocate();
      numbers.release(1, true);
      expect(numbers.allocate(1)).to.equal(1);
      expect(numbers.isDraining(1)).to.equal(false);
      numbers.release(1);
      expect(numbers.allocate()).to.equal(1);
    });
  });
});
