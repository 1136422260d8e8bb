/**
 * Which publisher-confirm tags are still unanswered: the tracker alone, and
 * a confirm-mode channel that closes with publishes the broker never
 * answered (so the application knows exactly what to republish).
 */
import { expect } from 'chai';
import { spec } from '../../lib';
import { ConfirmTracker } from '../../lib/engine/confirm-tracker';
import { openChannel, openOnFakeBroker } from '../support/virtual-broker';

describe('ConfirmTracker', () => {
  function published(n: number): ConfirmTracker {
    const t = new ConfirmTracker();
    for (let i = 0; i < n; i++) t.next();
    return t;
  }

  it('hands out tags from 1 and knows the next one', () => {
    const t = new ConfirmTracker();
    expect(t.nextTag).to.equal(1);
    expect([t.next(), t.next()]).to.deep.equal([1, 2]);
    expect(t.nextTag).to.equal(3);
  });

  it('clears everything up to a multiple ack', () => {
    const t = published(6);
    t.answer(4, true);
    expect(t.unanswered()).to.deep.equal([5, 6]);
  });

  it('keeps out-of-order single answers and closes the gap when it fills', () => {
    const t = published(6);
    t.answer(3, false);
    t.answer(5, false);
    expect(t.unanswered()).to.deep.equal([1, 2, 4, 6]);
    t.answer(1, false);
    t.answer(2, false);
    expect(t.unanswered()).to.deep.equal([4, 6]);
    t.answer(4, true);
    expect(t.unanswered()).to.deep.equal([6]);
    t.answer(6, false);
    expect(t.unanswered()).to.deep.equal([]);
  });

  it('knows every tag up to which one is answered (0: none yet)', () => {
    const t = published(5);
    expect(t.answeredThrough).to.equal(0);
    t.answer(2, false);
    expect(t.answeredThrough, 'tag 1 is still open').to.equal(0);
    t.answer(1, false);
    expect(t.answeredThrough).to.equal(2);
    t.answer(4, true);
    expect(t.answeredThrough).to.equal(4);
  });

  it('refuses, recording nothing, an answer for a tag never handed out', () => {
    const t = published(3);
    expect(t.answer(4, true)).to.equal(-1);
    expect(t.answer(9, false)).to.equal(-1);
    expect(t.unanswered()).to.deep.equal([1, 2, 3]);
    expect(t.answeredThrough).to.equal(0);
    expect(t.answer(3, true)).to.equal(3);
    expect(t.unanswered()).to.deep.equal([]);
  });

  it('says how many tags each answer newly covers (the stats count per message)', () => {
    const t = published(10);
    expect(t.answer(1, false)).to.equal(1);
    expect(t.answer(4, false)).to.equal(1);
    expect(t.answer(4, false), 'again').to.equal(0);
    expect(t.answer(5, true), '2, 3 and 5: 4 was answered').to.equal(3);
    expect(t.answer(3, true), 'below the floor').to.equal(0);
    t.advanceTo(12);
    expect(t.answer(12, true)).to.equal(7);
    t.advanceTo(11);
    expect(t.nextTag, 'advanceTo never goes back').to.equal(13);
  });

  it('ignores answers for tags already covered', () => {
    const t = published(3);
    t.answer(3, true);
    t.answer(2, false);
    t.answer(1, true);
    expect(t.unanswered()).to.deep.equal([]);
    t.next();
    expect(t.unanswered()).to.deep.equal([4]);
  });

  it('forgets single answers that a multiple ack overtakes: it stores only the ones above the floor', () => {
    const t = published(10);
    const above = (t as unknown as { answeredAbove: Set<number> }).answeredAbove;
    t.answer(3, false);
    t.answer(5, false);
    t.answer(9, false);
    expect([...above].sort()).to.deep.equal([3, 5, 9]);
    t.answer(6, true);
    expect([...above], 'only 9 is above the floor now').to.deep.equal([9]);
    expect(t.unanswered()).to.deep.equal([7, 8, 10]);
  });
});

describe('Channel.unconfirmedDeliveryTags', () => {
  it('lists the publishes the broker never answered once the channel has closed', () => {
    const { loop, broker, connection } = openOnFakeBroker();
    const ch = openChannel({ loop, connection });
    const answers: string[] = [];
    ch.confirmDelivery((_c, m) => answers.push(`${m.name} ${m.deliveryTag}${m.multiple ? '+' : ''}`));
    loop.runUntilIdle();
    for (let i = 0; i < 6; i++) ch.basicPublish('', 'q', `m${i}`);
    loop.runUntilIdle();
    const session = broker.session;
    session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
    session.send(ch.channelNumber, new spec.Basic.Nack({ deliveryTag: 4, multiple: false, requeue: false }));
    loop.runUntilIdle();
    expect(answers).to.deep.equal(['basic.ack 2+', 'basic.nack 4']);
    let unconfirmedAtClose: number[] = [];
    ch.addOnCloseCallback((c) => (unconfirmedAtClose = c.unconfirmedDeliveryTags()));
    session.send(ch.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED' }));
    loop.runUntilIdle();
    expect(ch.isClosed).to.equal(true);
    expect(unconfirmedAtClose).to.deep.equal([3, 5, 6]);
  });
});
