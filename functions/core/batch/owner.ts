import { createHash } from 'node:crypto';

/**
 * Who a batch job belongs to, and who may see it. A job records the principal
 * that started it; list, status, results and complete answer only that principal, unless the
 * deployment shares every job with every caller (BATCH_SHARED_VIEW).
 */

/** A principal: `id` is what access is decided on, `arn` what people read. */
export interface Owner {
  /** An IAM user's or role's unique id (AIDA…, AROA…), `jwt:<iss>#<sub>`, or `local`. */
  readonly id: string;
  readonly arn?: string | undefined;
}

/** Who is asking, and whether this deployment shows them every job. */
export interface Viewer {
  readonly owner: Owner;
  readonly shared: boolean;
}

/** Every caller of the local platform: it has no authentication. */
export const LOCAL_OWNER: Owner = { id: 'local', arn: 'local' };

/**
 * The key an IAM principal id is compared by. An assumed role's id carries the session name
 * (`AROA…:alice`, or `AWS:AROA…:alice` in an S3 event): the role is the owner, so a job started in
 * one session is still yours in the next. A user's id (AIDA…) is kept whole.
 */
export function principalKey(principalId: string): string {
  const id = principalId.startsWith('AWS:') ? principalId.slice(4) : principalId;
  return id.startsWith('AROA') ? (id.split(':')[0] ?? '') : id;
}

/** The uploader named by an S3 event's `userIdentity.principalId`, when it names one. */
export function ownerFromS3Principal(principalId: string | undefined): Owner | undefined {
  if (!principalId) return undefined;
  return { id: principalKey(principalId) };
}

/** Whether a job is visible to the viewer. A job with no owner (older records) only in a shared view. */
export function canSee(job: { readonly owner?: Owner | undefined }, viewer: Viewer): boolean {
  return viewer.shared || (job.owner !== undefined && job.owner.id === viewer.owner.id);
}

/**
 * The index key that lists a principal's jobs without reading everyone's: one empty object per
 * job under `_owners/<hash of the id>/`. Hashed so the key holds no identifier in clear.
 */
export function ownerIndexPrefix(owner: Owner): string {
  return `_owners/${createHash('sha256').update(owner.id).digest('hex').slice(0, 32)}/`;
}
