// Bundles load node:http through this module, not an ESM import: Node's ESM wrapper of node:http
// reads every export, which loads undici for the WebSocket getters (about 15 ms of each cold
// start). getBuiltinModule, not require: the bundler would alias require('node:http') back here.
module.exports = process.getBuiltinModule('node:http');
