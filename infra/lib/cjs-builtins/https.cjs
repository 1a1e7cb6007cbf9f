// See http.cjs: the same for node:https.
module.exports = process.getBuiltinModule('node:https');
