import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repair, type S3Repairs, safeS3Files } from './s3-files.ts';

/**
 * fauxqs's own persistence (SQLite for SQS, files for S3), wired as its startFauxqs() wires it.
 * startFauxqs() cannot be used here: it always listens on 0.0.0.0 and hides its Fastify app, and
 * the local platform binds to loopback and hooks the app (S3 notifications, the Host/Origin
 * guard). So its stores and persistence classes are loaded from the installed package, whose
 * version package.json pins exactly for that reason.
 */
export interface FauxqsStores {
  readonly stores: { sqsStore: unknown; snsStore: unknown; s3Store: unknown };
  /** What the start found a crash had left in the S3 folder, and put right. */
  readonly repairs: S3Repairs;
  /** Closes the SQLite database and the S3 file store; call on shutdown. */
  close(): void;
}

export async function persistentStores(sqsDir: string, s3Dir: string): Promise<FauxqsStores> {
  const dist = dirname(fileURLToPath(import.meta.resolve('fauxqs')));
  const load = async <T>(rel: string, name: string): Promise<T> =>
    ((await import(pathToFileURL(join(dist, rel)).href)) as Record<string, T>)[name] as T;
  type Ctor = new (...args: unknown[]) => Record<string, unknown>;
  const SqsStore = await load<Ctor>('sqs/sqsStore.js', 'SqsStore');
  const SnsStore = await load<Ctor>('sns/snsStore.js', 'SnsStore');
  const S3Store = await load<Ctor>('s3/s3Store.js', 'S3Store');
  const PersistenceManager = await load<Ctor>('persistence.js', 'PersistenceManager');
  const FileS3Persistence = await load<Ctor>('s3/fileS3Persistence.js', 'FileS3Persistence');
  const sqsStore = new SqsStore();
  const snsStore = new SnsStore();
  const s3Store = new S3Store();
  const sqlite = new PersistenceManager(sqsDir);
  const files = safeS3Files(new FileS3Persistence(s3Dir), s3Dir);
  // What a crash left is put right before fauxqs reads the folder.
  const repairs = repair(s3Dir);
  // Load before attaching, as startFauxqs does, so loading does not write back.
  (sqlite.loadSqsAndSns as (a: unknown, b: unknown) => void)(sqsStore, snsStore);
  (files.loadS3 as (a: unknown) => void)(s3Store);
  sqsStore.persistence = sqlite;
  snsStore.persistence = sqlite;
  for (const q of (sqsStore.allQueues as () => Iterable<Record<string, unknown>>)()) q.persistence = sqlite;
  s3Store.persistence = files;
  return {
    stores: { sqsStore, snsStore, s3Store },
    repairs,
    close: () => {
      (sqlite.close as () => void)();
      (files.close as () => void)();
    },
  };
}
