/**
 * A connection's life as one state: the name each state shows through the
 * public getters and in error messages.
 */
import { expect } from 'chai';
import { type ConnectionLife, lifeName } from '../../lib/engine/connection-life';
import { ConnectionClosedByClient } from '../../lib/errors';

describe('ConnectionLife', () => {
  describe('lifeName', () => {
    // Only the kind (and init's closeRequested) decide the name; the rest is filler.
    const link = {} as never;
    const timer = { id: 1 };
    const cases: Array<[ConnectionLife, string]> = [
      [{ kind: 'init', closeRequested: false }, 'init'],
      [{ kind: 'opening', workflow: {} as never, attempt: null }, 'opening'],
      [{ kind: 'open', link, blocked: null }, 'open'],
      [{ kind: 'closing', link, blocked: null, reason: new ConnectionClosedByClient(200, 'Normal shutdown'), timer, closeSent: false }, 'closing'],
      [{ kind: 'closed', reason: new Error('gone') }, 'closed'],
    ];
    for (const [life, name] of cases) {
      it(`${life.kind}${life.kind === 'init' ? ' (no close asked)' : ''} is '${name}'`, () => {
        expect(lifeName(life)).to.equal(name);
      });
    }

    it("init with close() already called is 'closing': the close is under way", () => {
      expect(lifeName({ kind: 'init', closeRequested: true })).to.equal('closing');
    });
  });
});

describe('ConnectionLife during automatic recovery', () => {
  const reason = new Error('lost');
  it("recovering (no link, reconnect rounds running) is 'recovering'", () => {
    expect(lifeName({ kind: 'recovering', reason, workflow: null, attempt: null })).to.equal('recovering');
  });

  it("restoring (reconnected, channels and topology coming back) is still 'recovering', not 'open'", () => {
    expect(lifeName({ kind: 'restoring', link: {} as never, blocked: null, reason })).to.equal('recovering');
  });
});
