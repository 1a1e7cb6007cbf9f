// jpeg-js ships types for its index only; its decoder module is the index's `decode`.
declare module 'jpeg-js/lib/decoder.js' {
  const decode: typeof import('jpeg-js').decode;
  export default decode;
}
