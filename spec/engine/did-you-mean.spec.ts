/**
 * "Did you mean" hints: the candidate nearest to a mistyped name, when it is
 * a likely typo, and the tail of an unknown-name error message.
 */
import { expect } from 'chai';
import { closest, unknownNameHint } from '../../lib/engine/did-you-mean';

describe('did-you-mean', () => {
  describe('closest', () => {
    it('finds the same name written with other case, underscores or hyphens', () => {
      const names = ['host', 'virtualHost', 'port'];
      expect(closest('virtual_host', names)).to.equal('virtualHost');
      expect(closest('VIRTUAL-HOST', names)).to.equal('virtualHost');
      expect(closest('virtualhost', names)).to.equal('virtualHost');
    });

    it('prefers that same name to an earlier candidate one edit away', () => {
      expect(closest('Port', ['post', 'port'])).to.equal('port');
    });

    it('counts two swapped neighbours as one edit', () => {
      // 'hots' is two edits from 'host' without the swap rule; a 4-letter name allows one.
      expect(closest('hots', ['port', 'host'])).to.equal('host');
      expect(closest('prot', ['host', 'port'])).to.equal('port');
    });

    it('finds nothing when no candidate is close', () => {
      expect(closest('xyz', ['host', 'port'])).to.equal(undefined);
      expect(closest('host', [])).to.equal(undefined);
    });

    it('allows a third of the length in edits', () => {
      // 9 letters: up to 3 edits
      expect(closest('abcdefghi', ['abcdefxyz'])).to.equal('abcdefxyz');
      expect(closest('abcdefghi', ['abcdewxyz'])).to.equal(undefined);
      // 6 letters: up to 2 edits
      expect(closest('abcdef', ['abcdxy'])).to.equal('abcdxy');
      expect(closest('abcdef', ['abcxyz'])).to.equal(undefined);
    });

    it('allows at least one edit and at most three', () => {
      expect(closest('ab', ['ax'])).to.equal('ax');
      expect(closest('ab', ['xy'])).to.equal(undefined);
      // 15 letters would allow 5: capped at 3
      expect(closest('abcdefghijklmno', ['abcdefghijklxyz'])).to.equal('abcdefghijklxyz');
      expect(closest('abcdefghijklmno', ['abcdefghijkwxyz'])).to.equal(undefined);
    });

    it('takes the closest candidate, the first one on a tie', () => {
      expect(closest('abcdefghi', ['abcdefgxx', 'abcdefghx'])).to.equal('abcdefghx');
      expect(closest('abcdefghi', ['abcdefghx', 'abcdefgxx'])).to.equal('abcdefghx');
      expect(closest('abcdefghi', ['abcdefghx', 'abcdefghy'])).to.equal('abcdefghx');
    });
  });

  describe('unknownNameHint', () => {
    it('suggests the closest name', () => {
      expect(unknownNameHint('hots', ['host', 'port'])).to.equal("; did you mean 'host'?");
    });

    it('lists the known names when none is close', () => {
      expect(unknownNameHint('zzzzzz', ['host', 'port'])).to.equal('; known options: host, port');
    });

    it('names the list as asked', () => {
      expect(unknownNameHint('zzzzzz', ['contentType', 'headers'], 'the properties are')).to.equal('; the properties are: contentType, headers');
    });
  });
});
