/**
 * glibc's malloc settings for a process whose native memory comes and goes (ONNX Runtime sessions
 * loaded and released): two arenas, and large blocks mapped and trimmed back to the OS. npm start
 * runs with them (infra/local/memory.ts), and so does the shared model function, whose session
 * cache releases sessions. `npm run bench` measures both (B9, B11). Only glibc reads these names;
 * musl and macOS ignore them.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '1048576',
  MALLOC_TRIM_THRESHOLD_: '1048576',
};
