// The kafkajs 2.2.4 modules that kafkajs-internals.ts imports from kafkajs's private src/ tree. They are
// CommonJS (`default` is their module.exports) and are typed `unknown` on purpose: kafkajs-internals.ts checks
// their shape when it loads them, and only then gives them types.

declare module 'kafkajs/src/cluster/index.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/broker/index.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/network/connectionPool.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/network/connection.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/protocol/requests/index.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/protocol/requests/produce/index.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/loggers/index.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/network/socketFactory.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/protocol/error.js' {
  const exports: unknown;
  export default exports;
}
declare module 'kafkajs/src/consumer/consumerGroup.js' {
  const exports: unknown;
  export default exports;
}
