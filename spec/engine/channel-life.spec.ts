/**
 * A channel's life as one state: which states act on the broker's frames.
 */
import { expect } from 'chai';
import { acceptsFrames, type ChannelLife } from '../../lib/engine/channel-life';

describe('ChannelLife', () => {
  describe('acceptsFrames', () => {
    const reason = new Error('r');
    const cases: Array<[string, ChannelLife, boolean]> = [
      ["opening (before open-ok: a reused number may get its previous channel's late frames)", { kind: 'opening', pendingClose: null }, false],
      ['opening with a pending close', { kind: 'opening', pendingClose: { code: 320, text: 'CONNECTION_FORCED' } }, false],
      ['open', { kind: 'open' }, true],
      ['closing, our channel.close not sent yet', { kind: 'closing', reason, closeSent: false, byApplication: true }, true],
      ['closing over a broker error, not sent yet', { kind: 'closing', reason, closeSent: false, byApplication: false }, true],
      ['closing, our channel.close sent (only close-ok counts)', { kind: 'closing', reason, closeSent: true, byApplication: true }, false],
      ['closed', { kind: 'closed', reason }, false],
    ];
    for (const [what, life, accepts] of cases) {
      it(`${accepts ? 'acts on' : 'ignores'} frames: ${what}`, () => {
        expect(acceptsFrames(life)).to.equal(accepts);
      });
    }
  });
});

describe('ChannelLife during automatic recovery', () => {
  it('ignores frames while recovering: the channel has no broker side until it is reopened', () => {
    expect(acceptsFrames({ kind: 'recovering' })).to.equal(false);
  });
});
