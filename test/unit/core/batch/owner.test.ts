import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canSee, ownerFromS3Principal, ownerIndexPrefix, principalKey } from '#core/batch/owner.ts';

describe('batch job owners', () => {
  it('keys an assumed role by the role, whatever the session, and a user by the user', () => {
    assert.equal(principalKey('AROAEXAMPLE:alice'), 'AROAEXAMPLE');
    assert.equal(principalKey('AWS:AROAEXAMPLE:bob-session'), 'AROAEXAMPLE');
    assert.equal(principalKey('AIDAEXAMPLE'), 'AIDAEXAMPLE');
    assert.equal(principalKey('AWS:AIDAEXAMPLE'), 'AIDAEXAMPLE');
    // A federated user's id is not a role's: it is kept whole, so two of them never merge.
    assert.equal(principalKey('111122223333:carol'), '111122223333:carol');
  });

  it('reads the uploader of an S3 event, and nothing when the event names nobody', () => {
    assert.deepEqual(ownerFromS3Principal('AWS:AROAEXAMPLE:cli'), { id: 'AROAEXAMPLE' });
    assert.equal(ownerFromS3Principal(undefined), undefined);
    assert.equal(ownerFromS3Principal(''), undefined);
  });

  it('shows a job to its owner only, an ownerless one to nobody, and every job in a shared view', () => {
    const alice = { owner: { id: 'AIDAALICE' }, shared: false };
    const bob = { owner: { id: 'AROABOB' }, shared: false };
    assert.equal(canSee({ owner: { id: 'AIDAALICE' } }, alice), true);
    assert.equal(canSee({ owner: { id: 'AIDAALICE' } }, bob), false);
    assert.equal(canSee({}, alice), false);
    assert.equal(canSee({}, { ...bob, shared: true }), true);
  });

  it('indexes jobs under a hash of the owner, never the id in clear', () => {
    const prefix = ownerIndexPrefix({ id: 'AIDAALICE', arn: 'arn:aws:iam::1:user/alice' });
    assert.match(prefix, /^_owners\/[0-9a-f]{32}\/$/);
    assert.ok(!prefix.includes('ALICE'));
    assert.equal(prefix, ownerIndexPrefix({ id: 'AIDAALICE' }), 'the ARN does not change the key');
  });
});
