/**
 * LifeCycle: the isOpen / isRecovering / isClosing / isClosed getters that
 * Connection and Channel share, read off the name of the one state each keeps.
 */
import { expect } from 'chai';
import { LifeCycle, type LifeName } from '../../lib/engine/life-cycle';

/** A LifeCycle whose state name the test sets. */
class Subject extends LifeCycle {
  constructor(public name: LifeName) {
    super();
  }

  protected get lifeName(): LifeName {
    return this.name;
  }
}

interface Flags {
  isOpen: boolean;
  isRecovering: boolean;
  isClosing: boolean;
  isClosed: boolean;
}

const none: Flags = { isOpen: false, isRecovering: false, isClosing: false, isClosed: false };

/** Every state name (the compiler rejects a missing one) and the one getter true in it, if any. */
const EXPECTED: Record<LifeName, Flags> = {
  init: none,
  opening: none,
  open: { ...none, isOpen: true },
  recovering: { ...none, isRecovering: true },
  closing: { ...none, isClosing: true },
  closed: { ...none, isClosed: true },
};

function flags(s: LifeCycle): Flags {
  return { isOpen: s.isOpen, isRecovering: s.isRecovering, isClosing: s.isClosing, isClosed: s.isClosed };
}

describe('LifeCycle', () => {
  for (const [name, expected] of Object.entries(EXPECTED) as Array<[LifeName, Flags]>) {
    const on = Object.entries(expected).find(([, v]) => v)?.[0];
    it(`'${name}': ${on === undefined ? 'every getter false' : `${on} true, the others false`}`, () => {
      expect(flags(new Subject(name))).to.deep.equal(expected);
    });
  }

  it('reads the state at each call, not once', () => {
    const s = new Subject('open');
    expect(s.isOpen).to.equal(true);
    s.name = 'recovering';
    expect([s.isOpen, s.isRecovering]).to.deep.equal([false, true]);
    s.name = 'closed';
    expect([s.isRecovering, s.isClosed]).to.deep.equal([false, true]);
  });
});
